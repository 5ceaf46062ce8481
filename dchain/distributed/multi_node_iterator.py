"""Iterators that give every rank the SAME batches (ChainerMN's, for model parallelism).

``create_multi_node_iterator``: one rank (the master) reads the batches and broadcasts each
to the others. ``create_synchronized_iterator``: every rank reads its own copy of the dataset
in the same shuffled order. Data parallelism, where each rank reads a different part of each
batch, uses ``ShardedIterator`` instead.
"""
import numpy

from dchain import random as random_module
from dchain.iterators.order_samplers import ShuffleOrderSampler

_MIRRORED = ('epoch', 'current_position', 'is_new_epoch', 'epoch_detail',
             'previous_epoch_detail')


def _state(iterator):
    return {name: getattr(iterator, name, None) for name in _MIRRORED}


class _MultiNodeIterator:
    """The iterator ``create_multi_node_iterator`` returns (on the master and on the others).

    Every ``next`` is one broadcast from the master: the batch (or the end of the data) with
    the master's position, so ``epoch``, ``is_new_epoch``, ``epoch_detail`` and the trainer's
    triggers agree on every rank. Any picklable batch travels.
    """

    def __init__(self, actual_iterator, communicator, rank_master):
        self.communicator = communicator
        self.rank_master = rank_master
        self.actual_iterator = actual_iterator if communicator.rank == rank_master else None
        self._mirror = communicator.bcast_obj(
            _state(actual_iterator) if self.is_master else None, root=rank_master)

    @property
    def is_master(self):
        """True on the rank that reads the data."""
        return self.communicator.rank == self.rank_master

    def __next__(self):
        if self.is_master:
            try:
                message = (False, next(self.actual_iterator), _state(self.actual_iterator))
            except StopIteration:
                message = (True, None, _state(self.actual_iterator))
        else:
            message = None
        stop, batch, self._mirror = self.communicator.bcast_obj(message, root=self.rank_master)
        if stop:
            raise StopIteration
        return batch

    next = __next__

    def __iter__(self):
        return self

    def __getattr__(self, name):
        if name in _MIRRORED and '_mirror' in self.__dict__:
            return self.__dict__['_mirror'][name]
        actual = self.__dict__.get('actual_iterator')
        if actual is None:
            raise AttributeError('multi-node iterator on rank {} (not the master {}) has no {!r}'
                                 .format(self.communicator.rank, self.rank_master, name))
        return getattr(actual, name)

    def reset(self):
        """Start the master's iterator over; collective (every rank calls it)."""
        if self.is_master:
            self.actual_iterator.reset()
        self._mirror = self.communicator.bcast_obj(
            _state(self.actual_iterator) if self.is_master else None, root=self.rank_master)

    def finalize(self):
        """Finalize the master's iterator."""
        if self.is_master and hasattr(self.actual_iterator, 'finalize'):
            self.actual_iterator.finalize()

    def serialize(self, serializer):
        """Save or load the master iterator's state (no communication: a snapshot is written
        by one rank). Every rank loads the same file: the master into its iterator, the others
        their copy of the position. Saved on another rank, only the position is written, so a
        resumable snapshot is taken on the master (keep ``rank_master=0``)."""
        if self.is_master:
            self.actual_iterator.serialize(serializer)
            self._mirror = _state(self.actual_iterator)
            return
        mirror = dict(self._mirror)
        for name in ('current_position', 'epoch', 'is_new_epoch', 'previous_epoch_detail'):
            value = mirror[name]
            if name == 'previous_epoch_detail' and value is None:
                value = -1.0
            try:
                mirror[name] = serializer(name, value)
            except KeyError:
                if name != 'previous_epoch_detail':
                    raise
        mirror['current_position'] = int(mirror['current_position'])
        mirror['epoch'] = int(mirror['epoch'])
        mirror['is_new_epoch'] = bool(mirror['is_new_epoch'])
        previous = mirror['previous_epoch_detail']
        mirror['previous_epoch_detail'] = None if previous is None or previous < 0 \
            else float(previous)
        self._mirror = mirror


def create_multi_node_iterator(actual_iterator, communicator, rank_master=0):
    """An iterator that gives every rank the batches that ``rank_master`` reads.

    For model parallelism, where the ranks hold different parts of one model and all need the
    same input: only the master reads the dataset, and each batch is broadcast to the other
    ranks (any picklable batch: lists of tuples of arrays, dicts, ...). ``epoch``,
    ``is_new_epoch``, ``epoch_detail`` and ``current_position`` follow the master's on every
    rank, and the end of a non-repeating iterator (StopIteration) reaches every rank.

    Args:
        actual_iterator: the master's iterator (e.g. a SerialIterator); ignored on the
            other ranks (they may pass None).
        communicator: a dchain.distributed communicator.
        rank_master (int): the rank that reads the data.
    Returns:
        An iterator to use on every rank; every rank must call ``next`` together.
    """
    if not 0 <= rank_master < communicator.size:
        raise ValueError('create_multi_node_iterator: rank_master must be a rank in [0, {}), '
                         'got {}'.format(communicator.size, rank_master))
    if communicator.rank == rank_master and actual_iterator is None:
        raise ValueError('create_multi_node_iterator: the master rank {} must pass an iterator,'
                         ' got None'.format(rank_master))
    return _MultiNodeIterator(actual_iterator, communicator, rank_master)


def create_synchronized_iterator(actual_iterator, communicator):
    """Make every rank's ``actual_iterator`` visit its dataset in the same order.

    Rank 0 draws a seed (from ``dchain.random``, so ``dchain.random.seed`` makes it
    repeatable) and every rank's iterator shuffles with a generator seeded with it, so all
    ranks read the same batches from their own copy of the dataset (ChainerMN's synchronized
    iterator). An iterator that does not shuffle (``order_sampler`` None) already reads the
    same order everywhere and is left so. The iterator starts over (``reset``).

    Args:
        actual_iterator: an iterator with an ``order_sampler`` attribute (SerialIterator,
            MultiprocessIterator); the dataset and batch size must be the same on every rank.
        communicator: a dchain.distributed communicator.
    Returns:
        ``actual_iterator`` itself, now synchronized.
    """
    if not hasattr(actual_iterator, 'order_sampler'):
        raise ValueError('create_synchronized_iterator: actual_iterator must have an '
                         'order_sampler (SerialIterator has one), got {}'.format(
                             type(actual_iterator).__name__))
    seed = int(random_module.get_generator().integers(2 ** 63)) if communicator.rank == 0 \
        else None
    facts = (len(actual_iterator.dataset), getattr(actual_iterator, 'batch_size', None),
             'shuffled' if actual_iterator.order_sampler is not None else 'in order')
    everyone = communicator.allgather_obj((seed, facts))
    differ = [rank for rank, (_, theirs) in enumerate(everyone) if theirs != everyone[0][1]]
    if differ:
        raise ValueError('create_synchronized_iterator: every rank needs the same dataset '
                         'length and batch size; rank 0 has {}, {}'.format(
                             everyone[0][1], ', '.join('rank {} has {}'.format(r, everyone[r][1])
                                                       for r in differ)))
    if actual_iterator.order_sampler is not None:
        actual_iterator.order_sampler = ShuffleOrderSampler(
            numpy.random.default_rng(everyone[0][0]))
    actual_iterator.reset()
    return actual_iterator
