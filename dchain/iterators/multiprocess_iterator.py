"""MultiprocessIterator: the next batches are read by worker processes (Chainer's).

Workers start on the first ``next``. Under MPI they are never forked from the training
process (forking an MPI process is unsafe): once MPI is initialized they start from a fresh
forkserver (or spawn where there is none), so the dataset must pickle (HDF5Dataset and
NpyDataset pickle as their paths). Without MPI they are forked, as Chainer's are, so any
dataset works. Each batch is cut into one piece per worker; a dataset with ``take`` reads
its piece in one batched read. Arrays come back through shared memory when they fit in
``shared_mem`` bytes per example, else pickled.
"""
import os
import pickle
import signal
import sys
import time
import warnings

import numpy

from dchain.dataset.dataset_mixin import take_examples
from dchain.iterators.prefetch import PrefetchingIterator

_POLL = 0.5  # seconds between checks of the dataset timeout


def start_method(maxtasksperchild=None):
    """How workers start: ``'forkserver'`` (else ``'spawn'``) once MPI is initialized or
    when workers are replaced (``maxtasksperchild``); ``'fork'`` otherwise, where there is
    one."""
    import multiprocessing  # here: only a run with workers needs it
    methods = multiprocessing.get_all_start_methods()
    mpi = sys.modules.get('mpi4py.MPI')  # looked up, never imported, here
    mpi_up = mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized()
    if mpi_up or maxtasksperchild or 'fork' not in methods:
        return 'forkserver' if 'forkserver' in methods else 'spawn'
    return 'fork'


class _Packed:
    """Where a worker put an array in shared memory."""

    __slots__ = ('offset', 'shape', 'dtype')

    def __init__(self, offset, shape, dtype):
        self.offset, self.shape, self.dtype = offset, shape, dtype


def _measure(example):
    values = (example.values() if isinstance(example, dict) else
              example if isinstance(example, (tuple, list)) else [example])
    return sum(value.nbytes for value in values if isinstance(value, numpy.ndarray))


def _pack(example, memory, offset, mem_size):
    limit = offset + mem_size

    def put(value):
        nonlocal offset
        if not isinstance(value, numpy.ndarray) or value.dtype.hasobject:
            return value
        if offset + value.nbytes > limit:
            put.over = True
            return value
        view = numpy.frombuffer(memory, value.dtype, value.size, offset)
        view[...] = value.reshape(-1)
        packed = _Packed(offset, value.shape, value.dtype)
        offset += value.nbytes
        return packed
    put.over = False
    if isinstance(example, dict):
        packed = {key: put(value) for key, value in example.items()}
    elif isinstance(example, (tuple, list)):
        packed = type(example)(put(value) for value in example)
    else:
        packed = put(example)
    return packed, (_measure(example) if put.over else 0)


def _unpack(example, memory):
    def get(value):
        if not isinstance(value, _Packed):
            return value
        count = int(numpy.prod(value.shape))
        return numpy.frombuffer(memory, value.dtype, count, value.offset).reshape(
            value.shape).copy()
    if isinstance(example, dict):
        return {key: get(value) for key, value in example.items()}
    if isinstance(example, (tuple, list)):
        return type(example)(get(value) for value in example)
    return get(example)


_worker_dataset = None
_worker_memory = None


def _worker_init(dataset, memory):
    global _worker_dataset, _worker_memory
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _worker_dataset = dataset
    _worker_memory = None if memory is None else numpy.frombuffer(memory, numpy.uint8)


def _fetch(indices, offset, mem_size):
    examples = list(take_examples(_worker_dataset, indices))
    if offset is None:
        return examples, 0
    packed = [_pack(example, _worker_memory, offset + j * mem_size, mem_size)
              for j, example in enumerate(examples)]
    # the largest example that did not fit (0: all did), for the main process to warn about
    return [example for example, _ in packed], max(size for _, size in packed)


class MultiprocessIterator(PrefetchingIterator):
    """Reads batches as SerialIterator does, with the next ``n_prefetch`` batches read ahead
    by worker processes (Chainer's arguments and semantics).

    Args:
        dataset: the dataset to read (it must pickle when workers do not fork: under MPI).
        batch_size (int): examples per batch.
        repeat (bool): cycle over epochs forever, or stop after one.
        shuffle (bool): a new random order every epoch (None: True unless ``order_sampler``
            is given).
        n_processes (int): the worker processes (None: the number of CPUs).
        n_prefetch (int): the batches read ahead.
        shared_mem (int): bytes of shared memory per example for its arrays (None: measured
            on the first batch, which the main process reads itself; 0: no shared memory).
            An example that does not fit is pickled, with a warning.
        order_sampler (callable): ``order_sampler(current_order, current_position)`` -> the
            next epoch's order.
        dataset_timeout (float): a ``MultiprocessIterator.TimeoutWarning`` is issued when a
            batch takes longer than this (None: never).
        maxtasksperchild (int): pieces a worker reads before it is replaced (None: never).
        seed (int): the shuffling seed (dchain's addition, as in SerialIterator).

    An exception in a worker surfaces from ``next`` with the worker's traceback (as its
    ``__cause__``); a worker that dies makes ``next`` raise instead of hanging. Call
    ``finalize()`` (or use ``with``) to stop the workers.
    """

    class TimeoutWarning(RuntimeWarning):
        """A batch took longer than ``dataset_timeout`` to read."""

    def __init__(self, dataset, batch_size, repeat=True, shuffle=None, n_processes=None,
                 n_prefetch=1, shared_mem=None, order_sampler=None, dataset_timeout=30.0,
                 maxtasksperchild=None, seed=None):
        for name, value in (('n_processes', n_processes), ('shared_mem', shared_mem),
                            ('maxtasksperchild', maxtasksperchild)):
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, (int, numpy.integer)) or value < (0 if name == 'shared_mem' else 1)):
                raise ValueError('MultiprocessIterator: {} must be None or a {} int, got {!r}'
                                 .format(name, 'non-negative' if name == 'shared_mem'
                                         else 'positive', value))
        if maxtasksperchild is not None and sys.version_info < (3, 11):
            raise ValueError('MultiprocessIterator: maxtasksperchild needs Python 3.11 or newer')
        self.n_processes = int(n_processes or os.cpu_count() or 1)
        self.shared_mem = shared_mem
        self.dataset_timeout = dataset_timeout
        self.maxtasksperchild = maxtasksperchild
        self._executor = None
        self._memory = None      # the shared buffer, one slot of batch_size examples per batch
        self._free_slots = []
        super().__init__(dataset, batch_size, repeat, shuffle, order_sampler, seed, n_prefetch,
                         'MultiprocessIterator')

    def _start(self, mem_size):
        import concurrent.futures
        import multiprocessing
        method = start_method(self.maxtasksperchild)
        context = multiprocessing.get_context(method)
        if method != 'fork':
            try:
                pickle.dumps(self.dataset)
            except Exception as error:
                raise TypeError(
                    'MultiprocessIterator: workers start by {} here (never by fork once MPI is '
                    'initialized), so the dataset must pickle, and it does not ({}: {}). '
                    'Datasets that read files lazily (HDF5Dataset, NpyDataset) pickle as their '
                    'paths.'.format(method, type(error).__name__, error)) from error
        self._mem_size = int(mem_size)
        raw = None
        if self._mem_size:
            slots = self.n_prefetch + 1  # the batches in flight at most
            raw = context.RawArray('b', slots * self.batch_size * self._mem_size)
            self._memory = numpy.frombuffer(raw, numpy.uint8)
            self._free_slots = list(range(slots))
        kwargs = {}
        if self.maxtasksperchild is not None:
            kwargs['max_tasks_per_child'] = self.maxtasksperchild
        self._executor = concurrent.futures.ProcessPoolExecutor(
            self.n_processes, mp_context=context, initializer=_worker_init,
            initargs=(self.dataset, raw), **kwargs)

    def _submit(self, indices):
        if self._executor is None:
            if self.shared_mem is None:
                # Chainer's way: the main process reads the first batch and sizes the memory
                batch = list(take_examples(self.dataset, indices))
                self._start(max([_measure(example) for example in batch], default=0))
                return None, [], batch, 0.
            self._start(self.shared_mem)
        slot = self._free_slots.pop() if self._free_slots else None
        pieces = [piece for piece in numpy.array_split(indices, self.n_processes) if len(piece)]
        futures, done = [], 0
        for piece in pieces:
            offset = None if slot is None else (slot * self.batch_size + done) * self._mem_size
            futures.append(self._executor.submit(_fetch, piece, offset, self._mem_size))
            done += len(piece)
        return slot, futures, None, time.monotonic()

    def _collect(self, handle):
        import concurrent.futures
        slot, futures, batch, started = handle
        if batch is not None:
            return batch
        try:
            examples, warned, too_large = [], False, 0
            for future in futures:
                while True:
                    try:
                        piece, largest = future.result(timeout=_POLL)
                        examples += piece
                        too_large = max(too_large, largest)
                        break
                    except concurrent.futures.TimeoutError:
                        if not warned and self.dataset_timeout is not None \
                                and time.monotonic() - started > self.dataset_timeout:
                            warned = True
                            warnings.warn('MultiprocessIterator: a batch has taken more than '
                                          '{} s to read (dataset_timeout)'.format(
                                              self.dataset_timeout), self.TimeoutWarning)
            if too_large:
                warnings.warn('MultiprocessIterator: an example of {} bytes of arrays does not '
                              'fit in the shared memory of {} bytes per example; it was pickled '
                              'instead. Set shared_mem to at least that size.'.format(
                                  too_large, self._mem_size), UserWarning)
            if slot is not None:
                examples = [_unpack(example, self._memory) for example in examples]
            return examples
        finally:
            self._discard(handle)

    def _discard(self, handle):
        import concurrent.futures
        slot, futures = handle[0], handle[1]
        for future in futures:
            future.cancel()
        # workers may still write into the slot: it is free once they are done
        concurrent.futures.wait(futures)
        if slot is not None and slot not in self._free_slots:
            self._free_slots.append(slot)

    def _shutdown(self):
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
