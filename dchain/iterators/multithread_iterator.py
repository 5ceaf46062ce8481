"""MultithreadIterator: the next batch is read by a pool of threads (Chainer's)."""
import numpy

from dchain.dataset.dataset_mixin import batch_reader, take_examples
from dchain.iterators.prefetch import PrefetchingIterator


def _read_examples(dataset, indices):
    return [dataset[index] for index in indices.tolist()]


class MultithreadIterator(PrefetchingIterator):
    """Reads batches as SerialIterator does, with the next batch read ahead by threads.

    Threads suit datasets whose reading releases the GIL (files, HDF5, image decoding,
    NumPy). A dataset with ``take(indices)`` (or an array) is read one batch per task; any
    other dataset example by example, each batch cut into one part per thread. The order,
    the position and ``serialize`` are SerialIterator's; an exception raised while reading
    surfaces from ``next`` with the reading thread's traceback.

    Args:
        dataset: the dataset to read.
        batch_size (int): examples per batch.
        repeat (bool): cycle over epochs forever, or stop after one.
        shuffle (bool): a new random order every epoch (None: True unless ``order_sampler``
            is given).
        n_threads (int): the reading threads.
        order_sampler (callable): ``order_sampler(current_order, current_position)`` -> the
            next epoch's order.
        seed (int): the shuffling seed (dchain's addition, as in SerialIterator).
    """

    def __init__(self, dataset, batch_size, repeat=True, shuffle=None, n_threads=1,
                 order_sampler=None, seed=None):
        if isinstance(n_threads, bool) or not isinstance(n_threads, (int, numpy.integer)) \
                or n_threads < 1:
            raise ValueError('MultithreadIterator: n_threads must be a positive int, got {!r}'
                             .format(n_threads))
        import concurrent.futures  # here: ``import dchain`` does not need it
        self.n_threads = int(n_threads)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            self.n_threads, thread_name_prefix='dchain-MultithreadIterator')
        super().__init__(dataset, batch_size, repeat, shuffle, order_sampler, seed, 1,
                         'MultithreadIterator')

    def _batched(self):
        dataset = self.dataset
        return (batch_reader(dataset) is not None or getattr(dataset, '_indexes_arrays', False)
                or isinstance(dataset, numpy.ndarray))

    def _submit(self, indices):
        if self._batched():
            return True, [self._pool.submit(take_examples, self.dataset, indices)]
        # one task per thread, each reading its part example by example
        parts = [part for part in numpy.array_split(indices, self.n_threads) if len(part)]
        return False, [self._pool.submit(_read_examples, self.dataset, part) for part in parts]

    def _collect(self, handle):
        batched, futures = handle
        if batched:
            return futures[0].result()
        return [example for future in futures for example in future.result()]

    def _discard(self, handle):
        for future in handle[1]:
            future.cancel()

    def _shutdown(self):
        self._pool.shutdown(wait=True, cancel_futures=True)
