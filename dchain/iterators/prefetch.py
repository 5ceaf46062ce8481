"""The base of the prefetching iterators: SerialIterator's order, read ahead by workers.

The iterator's own position (``epoch``, ``current_position``, ``is_new_epoch``, the epoch's
order and the shuffling generator) advances exactly as SerialIterator's does, one batch per
``next``, so ``serialize`` saves the position of the batches handed out, never of those read
ahead. The batches ahead are planned by a copy of that bookkeeping (with a copy of the
shuffling generator) and handed to workers; each batch handed out is checked against the
indices the iterator itself computes, and a batch planned wrongly (the order was reset,
loaded from a snapshot, or drawn from a generator that others also draw from) is dropped
and read again, so prefetching never changes what is read.
"""
import collections
import copy

import numpy

from dchain import random
from dchain.iterators.order_samplers import ShuffleOrderSampler
from dchain.iterators.serial_iterator import SerialIterator

_PLAN_STATE = ('dataset', 'batch_size', '_repeat', 'order_sampler', 'current_position', 'epoch',
               'is_new_epoch', '_previous_epoch_detail', '_order')


def _global_copy():
    # a generator in the global random state's current state (NumPy's global RandomState,
    # which dchain.random draws from), so that planning ahead does not draw from it
    generator = random.get_generator()
    if hasattr(generator, 'bit_generator'):  # a Generator of its own
        return copy.deepcopy(generator)
    state = numpy.random.RandomState()
    state.set_state(numpy.random.get_state())
    return state


def _sampler_copy(sampler):
    if isinstance(sampler, ShuffleOrderSampler) and sampler._random_state is None:
        return ShuffleOrderSampler(_global_copy())
    try:
        return copy.deepcopy(sampler)
    except Exception:  # a sampler that cannot be copied plans with itself; checks catch it
        return sampler


class PrefetchingIterator(SerialIterator):
    """A SerialIterator whose next ``n_prefetch`` batches are read ahead by workers.

    Subclasses define ``_submit(indices)`` (start reading a batch; returns a handle),
    ``_collect(handle)`` (the batch, raising a worker's exception), ``_discard(handle)``
    and ``_shutdown()``.
    """

    def __init__(self, dataset, batch_size, repeat, shuffle, order_sampler, seed, n_prefetch,
                 caller):
        if isinstance(n_prefetch, bool) or not isinstance(n_prefetch, (int, numpy.integer)) \
                or n_prefetch < 1:
            raise ValueError('{}: n_prefetch must be a positive int, got {!r}'.format(
                caller, n_prefetch))
        self.n_prefetch = int(n_prefetch)
        self._caller = caller
        self._ahead = collections.deque()  # (indices, handle) of the batches read ahead
        self._planner = None
        self._finalized = False
        super().__init__(dataset, batch_size, repeat=repeat, shuffle=shuffle,
                         order_sampler=order_sampler, seed=seed)

    def _new_planner(self):
        planner = SerialIterator.__new__(SerialIterator)
        planner.__dict__.update({key: self.__dict__[key] for key in _PLAN_STATE})
        planner.order_sampler = _sampler_copy(self.order_sampler)
        if self._order is not None:
            planner._order = numpy.array(self._order, copy=True)
        return planner

    def _fill(self):
        if self._planner is None:
            self._planner = self._new_planner()
        while len(self._ahead) < self.n_prefetch:
            try:
                indices = self._planner._advance()
            except StopIteration:
                return
            self._ahead.append((indices, self._submit(indices)))

    def _drop(self):
        while self._ahead:
            self._discard(self._ahead.popleft()[1])
        self._planner = None

    def __next__(self):
        if self._finalized:
            raise RuntimeError('{}: the iterator was finalized; make a new one'.format(
                self._caller))
        self._fill()
        indices = self._advance()
        head = self._ahead.popleft() if self._ahead else None
        if head is not None and len(head[0]) == len(indices) \
                and numpy.array_equal(head[0], indices):
            self._fill()  # keep n_prefetch batches in flight while this one is used
            return self._collect(head[1])
        if head is not None:
            self._discard(head[1])
        self._drop()
        handle = self._submit(indices)
        self._fill()
        return self._collect(handle)

    def reset(self):
        """Start over at epoch 0 (batches read ahead are dropped)."""
        if getattr(self, '_ahead', None) is not None:
            self._drop()
        super().reset()

    def serialize(self, serializer):
        """Save or load the position of the batches handed out (SerialIterator's keys);
        batches read ahead are dropped when a load moves the position."""
        before = (self.current_position, self.epoch)
        super().serialize(serializer)
        if (self.current_position, self.epoch) != before:
            self._drop()

    def finalize(self):
        """Stop the workers; the iterator cannot be used afterwards."""
        if self._finalized:
            return
        self._finalized = True
        try:
            self._drop()
        finally:
            self._shutdown()

    def __del__(self):
        if not getattr(self, '_finalized', True):
            try:
                self.finalize()
            except Exception:  # at interpreter exit parts may be gone already
                pass
