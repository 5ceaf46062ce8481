"""DatasetMixin: a dataset defined by ``__len__`` and ``get_example``, indexed like a list."""
import numpy

from dchain.dataset.convert import GatheredBatch


class DatasetMixin:
    """Gives a dataset list-like indexing from ``get_example(i)`` and ``__len__``.

    ``dataset[i]`` is ``get_example(i)``; ``dataset[start:stop:step]``, ``dataset[[i, j]]``
    and ``dataset[index_array]`` are lists of examples. Subclasses define ``__len__`` and
    ``get_example``.
    """

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.get_example(i) for i in range(*index.indices(len(self)))]
        if isinstance(index, (list, numpy.ndarray)):
            return [self.get_example(i) for i in index]
        return self.get_example(index)

    def __len__(self):
        """The number of examples (subclasses define it)."""
        raise NotImplementedError

    def get_example(self, i):
        """The ``i``-th example (subclasses define it)."""
        raise NotImplementedError


def batch_reader(dataset):
    """The dataset's ``take(indices)`` (a batched read returning a list of examples), or
    None. Arrays are not asked: ``ndarray.take`` means something else."""
    if hasattr(dataset, 'shape') and hasattr(dataset, 'dtype'):
        return None
    return getattr(dataset, 'take', None)


def take_examples(dataset, indices):
    """The examples of ``dataset`` at ``indices`` (an int array) as a list.

    A dataset with ``take(indices)`` (HDF5Dataset, NpyDataset, and TupleDataset, DictDataset
    and SubDataset, which forward it) reads the batch with it, in one batched read. Other
    datasets whose ``__getitem__`` takes an index array and returns a list of examples
    (TupleDataset, DictDataset, DatasetMixin; marked by ``_indexes_arrays``) are asked once,
    so that array-backed datasets gather a whole batch with one fancy index per array; NumPy
    arrays are indexed once; anything else is indexed example by example.
    """
    take = batch_reader(dataset)
    if take is not None:
        return take(indices)
    if getattr(dataset, '_indexes_arrays', False):
        return dataset[indices]
    if isinstance(dataset, numpy.ndarray):
        rows = dataset[indices]
        return GatheredBatch(list(rows), rows)
    return [dataset[i] for i in indices.tolist()]
