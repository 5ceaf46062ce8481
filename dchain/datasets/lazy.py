"""Datasets read from files a batch at a time: HDF5Dataset and NpyDataset.

Neither holds its data in memory. ``take(indices)`` reads a whole batch: the distinct indices
in increasing order, in one read per array (what h5py needs, and what disks like), then the
rows are put back in the requested order. ``ShardedIterator``, ``SerialIterator`` and the
prefetching iterators read batches through ``take``, so each rank reads only its slice of
each global batch.

Files open lazily in the process that reads them (and again after a fork), so a dataset
object pickles as its paths and names: cheap to send to worker processes.
"""
import os
import threading

import numpy

from dchain.dataset.convert import GatheredBatch


class _LazyArrays:
    """Equally long arrays of a file, opened on first use in each process."""

    _indexes_arrays = True  # dataset[index_array] is a list of examples

    def __init__(self, caller, path, names):
        self._caller = caller
        self._path = os.fspath(path)
        self._names = tuple(names)
        self._arrays = None
        self._pid = None
        self._lock = threading.Lock()
        self.rows_read = 0   # rows read by this object in this process (for tests, benches)
        self.reads = 0       # batched reads (one per take)
        arrays = self._open_arrays()
        lengths = [len(array) if array.ndim else None for array in arrays]
        for name, array, length in zip(self._names, arrays, lengths):
            if length is None:
                raise ValueError('{}: {!r} in {} is a scalar, not an array of examples'.format(
                    caller, name, self._path))
            if length != lengths[0]:
                raise ValueError('{}: every array must have the same length, got {} ({!r}) and '
                                 '{} ({!r})'.format(caller, lengths[0], self._names[0], length,
                                                    name))
        self._arrays, self._pid = arrays, os.getpid()
        self._length = lengths[0]
        self._shapes = [(array.shape[1:], array.dtype) for array in arrays]

    def _open_arrays(self):
        raise NotImplementedError

    def _read_sorted(self, array, indices):
        """Rows ``indices`` (increasing, distinct) of ``array`` as one NumPy array."""
        raise NotImplementedError

    def _current(self):
        with self._lock:
            if self._arrays is None or self._pid != os.getpid():
                self._arrays = self._open_arrays()
                self._pid = os.getpid()
            return self._arrays

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_arrays'] = None
        del state['_lock']
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __len__(self):
        return self._length

    def _check_indices(self, indices):
        indices = numpy.asarray(indices)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in 'iu'):
            raise TypeError('{}.take: indices must be a 1-d array of ints, got shape {} of {}'
                            .format(self._caller, indices.shape, indices.dtype))
        indices = indices.astype(numpy.int64, copy=False)
        if indices.size and (indices.min() < -self._length or indices.max() >= self._length):
            raise IndexError('{}: index out of range for a dataset of {} examples'.format(
                self._caller, self._length))
        return numpy.where(indices < 0, indices + self._length, indices)

    def take_arrays(self, indices):
        """The rows ``indices`` of every array, as a tuple of NumPy arrays, in the order
        asked (repeats allowed), read with one sorted read per array."""
        indices = self._check_indices(indices)
        if not indices.size:
            return tuple(numpy.empty((0,) + shape, dtype) for shape, dtype in self._shapes)
        distinct, inverse = numpy.unique(indices, return_inverse=True)
        arrays = self._current()
        rows = [self._read_sorted(array, distinct) for array in arrays]
        self.rows_read += len(distinct)
        self.reads += 1
        if len(distinct) == len(indices) and (distinct == indices).all():
            return tuple(rows)
        return tuple(row[inverse] for row in rows)

    def take(self, indices):
        """The examples at ``indices`` as a list (tuples with several arrays), read in one
        sorted read per array; the converter reuses the batch arrays without stacking."""
        parts = self.take_arrays(indices)
        if len(parts) == 1:
            return GatheredBatch(list(parts[0]), parts[0])
        return GatheredBatch(list(zip(*parts)), parts)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.take(numpy.arange(*index.indices(self._length)))
        if isinstance(index, (list, numpy.ndarray)):
            return self.take(index)
        if isinstance(index, bool) or not isinstance(index, (int, numpy.integer)):
            raise TypeError('{}: an index must be an int, a slice or an int array, got {}'
                            .format(self._caller, type(index).__name__))
        rows = self.take_arrays(numpy.array([index]))
        return rows[0][0] if len(rows) == 1 else tuple(row[0] for row in rows)


class HDF5Dataset(_LazyArrays):
    """Examples read from equally long datasets of an HDF5 file, a batch at a time.

    Args:
        path (str): the HDF5 file.
        *names (str): the datasets in it (``'x'``, ``'group/y'``). With one name an example
            is ``f[name][i]``; with several, the tuple ``(f[name][i] for name in names)``.

    ``take(indices)`` reads a batch in one sorted read per dataset and restores the order
    asked. The file opens read-only when first read in each process, so the object pickles
    as its path and names.
    """

    def __init__(self, path, *names):
        if not names:
            raise ValueError('HDF5Dataset: name at least one dataset of {}'.format(path))
        super().__init__('HDF5Dataset', path, names)

    def _open_arrays(self):
        import h5py
        try:
            file = h5py.File(self._path, 'r')
        except OSError as error:
            raise OSError('HDF5Dataset: cannot open {}: {}'.format(self._path, error)) from None
        arrays = []
        for name in self._names:
            array = file.get(name)
            if not isinstance(array, h5py.Dataset):
                found = 'a group' if array is not None else 'nothing'
                keys = sorted(file.keys())
                file.close()
                raise KeyError('HDF5Dataset: {} has {} at {!r}; expected a dataset (its top '
                               'level holds {})'.format(self._path, found, name, keys))
            arrays.append(array)
        self._file = file
        return arrays

    def __getstate__(self):
        state = super().__getstate__()
        state.pop('_file', None)
        return state

    def _read_sorted(self, array, indices):
        return array[indices]

    def close(self):
        """Close the file (it reopens when read again)."""
        with self._lock:
            file = self.__dict__.pop('_file', None)
            self._arrays = None
            if file is not None:
                file.close()


class NpyDataset(_LazyArrays):
    """Examples read from equally long ``.npy`` files, memory-mapped, a batch at a time.

    Args:
        *paths (str): the ``.npy`` files (``numpy.save`` writes them). With one path an
            example is ``array[i]``; with several, the tuple of their i-th rows.

    Nothing is read until asked for; ``take(indices)`` copies the rows of a batch out of the
    mapping in increasing order and restores the order asked. Object arrays are refused
    (they would need pickle).
    """

    def __init__(self, *paths):
        if not paths:
            raise ValueError('NpyDataset: give at least one .npy file')
        self._paths = tuple(os.fspath(path) for path in paths)
        super().__init__('NpyDataset', self._paths[0], self._paths)

    def _open_arrays(self):
        arrays = []
        for path in self._paths:
            try:
                arrays.append(numpy.load(path, mmap_mode='r', allow_pickle=False))
            except ValueError as error:
                raise ValueError('NpyDataset: cannot map {}: {}'.format(path, error)) from None
        return arrays

    def _read_sorted(self, array, indices):
        return numpy.asarray(array[indices])
