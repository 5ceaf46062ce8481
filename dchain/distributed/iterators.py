"""ShardedIterator: every rank reads its slice of the same global mini-batch.

The order of an epoch is a permutation drawn from ``(seed, epoch)`` alone, so it is the same
on every rank and for every number of ranks. Each global batch of ``batch_size`` examples is
cut into ``comm.size`` contiguous slices as evenly as possible (rank r takes slice r). An
epoch visits every example exactly once: the last global batch is short when the dataset size
is not a multiple of the batch size, and a rank whose slice is empty gets an empty batch.
The position saved by ``serialize`` is global, so a run resumes on any number of ranks.
"""
import numpy

from dchain.dataset.convert import GatheredBatch, concat_examples
from dchain.datasets.tuple_dataset import DictDataset, TupleDataset


def shard_bounds(count, size, rank):
    """The [start, stop) of rank ``rank``'s slice when ``count`` items split over ``size``."""
    base, extra = divmod(count, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def check_same_sharding(operation, iterator):
    """Raise ValueError on every rank unless every rank's ShardedIterator has the same
    dataset length, global batch size, seed and shuffle flag (a collective; a stand-in
    communicator without ``check_same`` is not checked)."""
    check_same = getattr(iterator.comm, 'check_same', None)
    if check_same is not None:
        check_same(operation, **{'dataset length': len(iterator.dataset),
                                 'global batch size': iterator.batch_size,
                                 'seed': iterator.seed, 'shuffle': bool(iterator.shuffle)})


class ShardedIterator:
    """Iterate the rank's share of global mini-batches (Chainer's Iterator protocol).

    Args:
        dataset: the whole dataset (every rank holds it, or a lazy view of it).
        batch_size (int): the GLOBAL batch size, summed over ranks.
        comm: a dchain.distributed communicator (only ``rank`` and ``size`` are read).
        shuffle (bool): draw a new permutation each epoch from ``(seed, epoch)``.
        seed (int): the shuffling seed, the same on every rank.
        repeat (bool): cycle over epochs forever (False: stop after one epoch).

    Construction is a collective: every rank checks that the others have the same dataset
    length, batch size, seed and shuffle flag (else a ValueError on every rank).
    """

    def __init__(self, dataset, batch_size, comm, shuffle=True, seed=0, repeat=True):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) \
                or batch_size <= 0:
            raise ValueError('ShardedIterator: batch_size must be a positive int (the global '
                             'batch), got {!r}'.format(batch_size))
        if len(dataset) == 0:
            raise ValueError('ShardedIterator: the dataset is empty')
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.comm = comm
        self.shuffle = shuffle
        self.seed = int(seed)
        self.repeat = repeat
        check_same_sharding('ShardedIterator', self)
        self.reset()

    def reset(self):
        """Go back to the start of epoch 0."""
        self.epoch = 0
        self.current_position = 0
        self.is_new_epoch = False
        self._previous_epoch_detail = -1.0
        self._order = None

    def _epoch_order(self):
        if self._order is None:
            n = len(self.dataset)
            if self.shuffle:
                self._order = numpy.random.default_rng([self.seed, self.epoch]).permutation(n)
            else:
                self._order = numpy.arange(n)
        return self._order

    def global_indices(self):
        """The dataset indices of the next global batch (without advancing)."""
        n = len(self.dataset)
        stop = min(self.current_position + self.batch_size, n)
        return self._epoch_order()[self.current_position:stop]

    def __next__(self):
        if not self.repeat and self.epoch > 0:
            raise StopIteration
        n = len(self.dataset)
        self._previous_epoch_detail = self.epoch_detail
        indices = self.global_indices()
        start, stop = shard_bounds(len(indices), self.comm.size, self.comm.rank)
        batch = self._take(indices[start:stop], indices)
        self.current_position += len(indices)
        if self.current_position >= n:
            self.epoch += 1
            self.current_position = 0
            self.is_new_epoch = True
            self._order = None
        else:
            self.is_new_epoch = False
        return batch

    next = __next__

    def _take(self, local, global_indices):
        dataset = self.dataset
        if isinstance(dataset, (TupleDataset, DictDataset)):
            return dataset[local]  # a GatheredBatch: no per-example stacking later
        if len(local):
            return [dataset[int(i)] for i in local]
        # An empty share: zero-length arrays shaped like the global batch's examples, so the
        # converter and the model see a batch of 0 samples rather than nothing.
        arrays = concat_examples([dataset[int(global_indices[0])]])
        if isinstance(arrays, dict):
            arrays = {key: array[:0] for key, array in arrays.items()}
        elif isinstance(arrays, tuple):
            arrays = tuple(array[:0] for array in arrays)
        else:
            arrays = arrays[:0]
        return GatheredBatch([], arrays)

    def __iter__(self):
        return self

    @property
    def epoch_detail(self):
        """Epochs done, with the fraction of the current one."""
        return self.epoch + self.current_position / len(self.dataset)

    @property
    def previous_epoch_detail(self):
        """``epoch_detail`` before the last batch (None before the first)."""
        return None if self._previous_epoch_detail < 0 else self._previous_epoch_detail

    def finalize(self):
        """Nothing to release (Chainer's protocol)."""

    def serialize(self, serializer):
        """Save or load the global position (independent of the number of ranks)."""
        self.current_position = int(serializer('current_position', self.current_position))
        self.epoch = int(serializer('epoch', self.epoch))
        self.is_new_epoch = bool(serializer('is_new_epoch', self.is_new_epoch))
        self._previous_epoch_detail = float(serializer('previous_epoch_detail',
                                                       self._previous_epoch_detail))
        seed = int(serializer('seed', self.seed))
        if seed != self.seed:
            raise ValueError('ShardedIterator.serialize: the snapshot was taken with seed {}, '
                             'this iterator has seed {}'.format(seed, self.seed))
        self._order = None
