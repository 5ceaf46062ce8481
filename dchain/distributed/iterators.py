"""ShardedIterator: every rank reads its slice of the same global mini-batch.

The order of an epoch is a permutation drawn from ``(seed, epoch)`` alone, so it is the same
on every rank and for every number of ranks. Each global batch of ``batch_size`` examples is
cut into ``comm.size`` contiguous slices as evenly as possible (rank r takes slice r). An
epoch visits every example exactly once: the last global batch is short when the dataset size
is not a multiple of the batch size, and a rank whose slice is empty gets an empty batch.
The position saved by ``serialize`` is global, so a run resumes on any number of ranks.

With ``n_prefetch=k`` a background thread reads the rank's next k batches while the current
one is used. A batch depends only on (seed, epoch, position), so prefetching changes neither
what is read nor the position ``serialize`` saves (that of the batches handed out).
"""
import collections
import threading

import numpy

from dchain.dataset.convert import GatheredBatch, concat_examples
from dchain.dataset.dataset_mixin import batch_reader, take_examples


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
        n_prefetch (int): local batches read ahead by a background thread (0: none).
            ``finalize()`` stops the thread.

    Construction is a collective: every rank checks that the others have the same dataset
    length, batch size, seed and shuffle flag (else a ValueError on every rank).
    """

    def __init__(self, dataset, batch_size, comm, shuffle=True, seed=0, repeat=True,
                 n_prefetch=0):
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
        self._init_prefetch(n_prefetch)
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
        if self.n_prefetch:
            batch = self._prefetched(self.epoch, self.current_position)
        else:
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
        if len(local) or batch_reader(dataset) is not None:
            # one batched read of this rank's share where the dataset can (take(): HDF5Dataset,
            # NpyDataset, TupleDataset, SubDataset...): then a GatheredBatch, which the
            # converter uses as it is, and zero-length arrays for an empty share
            batch = take_examples(dataset, local)
            if len(batch) or isinstance(batch, GatheredBatch):
                return batch
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
        """Stop the prefetching thread (Chainer's protocol); nothing else to release."""
        executor, self._executor = self._executor, None
        self._ahead.clear()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    # -- prefetching: batches are keyed by (epoch, position), which alone decide them ----------
    def _init_prefetch(self, n_prefetch):
        if isinstance(n_prefetch, bool) or not isinstance(n_prefetch, (int, numpy.integer)) \
                or n_prefetch < 0:
            raise ValueError('ShardedIterator: n_prefetch must be a non-negative int, got {!r}'
                             .format(n_prefetch))
        self.n_prefetch = int(n_prefetch)
        self._executor = None
        self._ahead = collections.deque()  # ((epoch, position), future)
        self._orders = {}                  # epoch -> order, for the reading thread
        self._orders_lock = threading.Lock()

    def _order_of(self, epoch):
        with self._orders_lock:
            order = self._orders.get(epoch)
            if order is None:
                n = len(self.dataset)
                order = (numpy.random.default_rng([self.seed, epoch]).permutation(n)
                         if self.shuffle else numpy.arange(n))
                self._orders = {key: value for key, value in self._orders.items()
                                if key >= epoch - 1}
                self._orders[epoch] = order
            return order

    def _read_at(self, epoch, position):
        indices = self._order_of(epoch)[position:position + self.batch_size]
        start, stop = shard_bounds(len(indices), self.comm.size, self.comm.rank)
        return self._take(indices[start:stop], indices)

    def _key_after(self, key):
        epoch, position = key
        position += self.batch_size
        return (epoch + 1, 0) if position >= len(self.dataset) else (epoch, position)

    def _prefetched(self, epoch, position):
        key = (epoch, position)
        if self._ahead and self._ahead[0][0] != key:  # reset, or a snapshot was loaded
            for _, future in self._ahead:
                future.cancel()
            self._ahead.clear()
        if self._executor is None:
            import concurrent.futures  # here: only prefetching needs it
            self._executor = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix='dchain-ShardedIterator')
        next_key = self._ahead[-1][0] if self._ahead else key
        if not self._ahead:
            self._ahead.append((key, self._executor.submit(self._read_at, *key)))
        while len(self._ahead) < self.n_prefetch + 1:
            next_key = self._key_after(next_key)
            if not self.repeat and next_key[0] > 0:
                break
            self._ahead.append((next_key, self._executor.submit(self._read_at, *next_key)))
        return self._ahead.popleft()[1].result()

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


# ChainerMN's iterators for model parallelism live beside ShardedIterator under the same
# namespace, as ``chainermn.iterators`` has them.
from dchain.distributed.multi_node_iterator import (create_multi_node_iterator,  # noqa: E402,F401
                                                    create_synchronized_iterator)
