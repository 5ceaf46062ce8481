"""SerialIterator: mini-batches read in the main thread, in order or shuffled."""
import numpy

from dchain.dataset.dataset_mixin import take_examples
from dchain.dataset.iterator import Iterator
from dchain.iterators.order_samplers import ShuffleOrderSampler


class SerialIterator(Iterator):
    """Reads mini-batches of ``batch_size`` examples, each a list of examples.

    With ``repeat=True`` every batch is full: the last batch of an epoch is completed with the
    first examples of the next epoch (in the next epoch's order), and ``is_new_epoch`` is True
    right after it. With ``repeat=False`` the last batch of the single epoch is short when
    the dataset size is not a multiple of ``batch_size``, and ``next`` then raises
    StopIteration (``reset()`` starts over).

    Shuffling draws a permutation per epoch from ``numpy.random.default_rng(seed)``, held by
    the iterator, or from dchain's global generator (``dchain.random``) when ``seed`` is None.

    Args:
        dataset: the dataset to read.
        batch_size (int): examples per batch, > 0.
        repeat (bool): cycle over epochs forever, or stop after one.
        shuffle (bool): visit the examples in a new random order each epoch. None: True,
            unless ``order_sampler`` is given.
        order_sampler (callable): ``order_sampler(current_order, current_position)`` -> the
            next epoch's order; mutually exclusive with ``shuffle`` and ``seed``.
        seed (int): the shuffling seed (used only when shuffling).
    """

    def __init__(self, dataset, batch_size, repeat=True, shuffle=None, order_sampler=None,
                 seed=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)):
            raise TypeError('SerialIterator: batch_size must be an int, got {}'.format(
                type(batch_size).__name__))
        if batch_size <= 0:
            raise ValueError('SerialIterator: batch_size must be positive, got {}'.format(
                batch_size))
        if order_sampler is not None and (shuffle is not None or seed is not None):
            raise ValueError('SerialIterator: give either order_sampler or shuffle/seed, not '
                             'both (the order sampler decides the order)')
        if repeat and len(dataset) == 0:
            raise ValueError('SerialIterator: the dataset is empty; an iterator that repeats '
                             'needs at least one example')
        if shuffle or (shuffle is None and order_sampler is None):
            order_sampler = ShuffleOrderSampler(
                None if seed is None else numpy.random.default_rng(seed))
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self._repeat = repeat
        self.order_sampler = order_sampler
        self.reset()

    @property
    def repeat(self):
        """Whether the iterator cycles over epochs."""
        return self._repeat

    def reset(self):
        """Start over at epoch 0 (with a new order when shuffling)."""
        self.current_position = 0
        self.epoch = 0
        self.is_new_epoch = False
        self._previous_epoch_detail = -1.
        self._order = None
        if self.order_sampler is not None:
            self._order = self._next_order(numpy.arange(len(self.dataset)), 0)

    def _next_order(self, order, position):
        new_order = self.order_sampler(order, position)
        if len(new_order) != len(order):
            raise ValueError('SerialIterator: the order sampler returned {} indices for a '
                             'dataset of {}'.format(len(new_order), len(order)))
        return new_order

    @property
    def _epoch_size(self):
        return len(self.dataset) if self._order is None else len(self._order)

    def _positions(self, start, stop):
        order = self._order
        return numpy.arange(start, stop) if order is None else order[start:stop]

    def __next__(self):
        return take_examples(self.dataset, self._advance())

    def _advance(self):
        # the position bookkeeping of one batch: returns the batch's indices
        if not self._repeat and self.epoch > 0:
            raise StopIteration
        self._previous_epoch_detail = self.epoch_detail
        size = self._epoch_size
        start = self.current_position
        stop = start + self.batch_size
        if stop < size:
            indices = self._positions(start, stop)
            self.is_new_epoch = False
        else:
            pieces = []
            while stop >= size:  # more than once when batch_size exceeds the dataset
                pieces.append(self._positions(start, size))
                self.epoch += 1
                if not self._repeat:
                    stop = 0
                    break
                if self._order is not None:
                    self._order = self._next_order(self._order, start)
                start, stop = 0, stop - size
            pieces.append(self._positions(0, stop))
            indices = numpy.concatenate(pieces)
            self.is_new_epoch = True
            if not len(indices):  # an empty dataset, read once
                self.current_position = 0
                raise StopIteration
        self.current_position = stop
        return indices

    @property
    def epoch_detail(self):
        """Epochs done, with the fraction of the current one (1.5: halfway through the
        second)."""
        size = self._epoch_size
        return self.epoch + (self.current_position / size if size else 0.)

    @property
    def previous_epoch_detail(self):
        """``epoch_detail`` before the last batch; None before the first."""
        if self._previous_epoch_detail < 0:
            return None
        return self._previous_epoch_detail

    def serialize(self, serializer):
        """Save or load the position under Chainer's keys (``current_position``, ``epoch``,
        ``is_new_epoch``, ``order`` when shuffling, ``previous_epoch_detail``) and the state of
        the iterator's own shuffling generator (``order_sampler/rng_state``), so a resumed
        run reads exactly the batches an uninterrupted one would."""
        self.current_position = int(serializer('current_position', self.current_position))
        self.epoch = int(serializer('epoch', self.epoch))
        self.is_new_epoch = bool(serializer('is_new_epoch', self.is_new_epoch))
        if self._order is not None:
            try:
                serializer('order', self._order)
            except KeyError:  # the key of older Chainer versions
                serializer('_order', self._order)
        try:
            self._previous_epoch_detail = float(
                serializer('previous_epoch_detail', self._previous_epoch_detail))
        except KeyError:  # older snapshots: estimate it as Chainer does
            detail = self.epoch + (self.current_position - self.batch_size) / self._epoch_size
            self._previous_epoch_detail = max(detail, 0.) if self.epoch_detail > 0 else -1.
        sampler_serialize = getattr(self.order_sampler, 'serialize', None)
        if sampler_serialize is not None:
            sampler_serialize(serializer['order_sampler'])
        if not 0 <= self.current_position <= self._epoch_size:
            raise ValueError('SerialIterator.serialize: current_position {} is outside a '
                             'dataset of {} examples'.format(self.current_position,
                                                             self._epoch_size))
