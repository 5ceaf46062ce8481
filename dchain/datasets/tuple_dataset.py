"""TupleDataset and DictDataset: several equally long datasets read side by side."""
import numpy

from dchain import backend
from dchain.dataset.convert import GatheredBatch, gathered
from dchain.dataset.dataset_mixin import batch_reader


def _gather(dataset, index):
    # a dataset with take() reads the batch at once (its arrays when it has them); Python
    # sequences take no index arrays; arrays gather a whole batch with one fancy index
    take = batch_reader(dataset)
    if take is not None:
        batch = take(numpy.asarray(index))
        arrays = batch.gathered_arrays() if isinstance(batch, GatheredBatch) else None
        return batch if arrays is None else arrays
    if _is_file_array(dataset):
        return _sorted_read(dataset, numpy.asarray(index))
    if isinstance(dataset, (list, tuple)):
        return [dataset[i] for i in (index.tolist() if isinstance(index, numpy.ndarray)
                                     else index)]
    return dataset[index]


def _is_file_array(dataset):
    # array-likes read from files (h5py.Dataset, zarr arrays): they index with increasing
    # indices only (h5py) and read fastest that way
    return (hasattr(dataset, 'shape') and hasattr(dataset, 'dtype')
            and not isinstance(dataset, numpy.ndarray) and not backend.is_gpu_array(dataset))


def _sorted_read(dataset, index):
    if index.size == 0:
        return numpy.empty((0,) + tuple(dataset.shape[1:]), dataset.dtype)
    distinct, inverse = numpy.unique(index, return_inverse=True)
    if distinct[0] < 0:  # negative indices count from the end, as for arrays
        return _sorted_read(dataset, numpy.where(index < 0, index + len(dataset), index))
    rows = numpy.asarray(dataset[distinct])
    return rows if len(distinct) == len(index) and (distinct == index).all() else rows[inverse]


def _check_lengths(caller, named):
    if not named:
        raise ValueError('{}: no datasets are given'.format(caller))
    lengths = [(name, len(dataset)) for name, dataset in named]
    first_name, length = lengths[0]
    for name, other in lengths[1:]:
        if other != length:
            raise ValueError('{}: every dataset must have the same length, got {} ({}) and {} '
                             '({})'.format(caller, length, first_name, other, name))
    return length


class TupleDataset:
    """Examples that are tuples: the i-th example is ``(datasets[0][i], datasets[1][i], ...)``.

    Args:
        *datasets: equally long datasets (arrays, lists, or other datasets).

    ``dataset[i]`` is a tuple; a slice, a list or an index array gives a list of tuples, read
    with one index per underlying array.
    """

    _indexes_arrays = True  # dataset[index_array] is a list of examples

    def __init__(self, *datasets):
        self._length = _check_lengths('TupleDataset', [
            ('dataset {}'.format(i), dataset) for i, dataset in enumerate(datasets)])
        self._datasets = datasets

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(zip(*[dataset[index] for dataset in self._datasets]))
        if isinstance(index, (list, numpy.ndarray)):
            parts = [_gather(dataset, index) for dataset in self._datasets]
            return gathered(list(zip(*parts)), tuple(parts))
        return tuple([dataset[index] for dataset in self._datasets])

    def __len__(self):
        return self._length

    def take(self, indices):
        """The examples at ``indices`` (an int array), each column read at once (forwarded
        to columns that have ``take``)."""
        indices = numpy.asarray(indices)
        return self[indices if indices.size else indices.astype(numpy.intp)]


class DictDataset:
    """Examples that are dicts: the i-th example is ``{key: datasets[key][i], ...}``.

    Args:
        **datasets: equally long datasets by name.

    ``dataset[i]`` is a dict; a slice, a list or an index array gives a list of dicts.
    """

    _indexes_arrays = True

    def __init__(self, **datasets):
        self._length = _check_lengths('DictDataset', [
            ("'{}'".format(key), dataset) for key, dataset in datasets.items()])
        self._datasets = datasets

    def __getitem__(self, index):
        if isinstance(index, slice):
            keys = list(self._datasets)
            parts = [dataset[index] for dataset in self._datasets.values()]
            return [dict(zip(keys, values)) for values in zip(*parts)]
        if isinstance(index, (list, numpy.ndarray)):
            keys = list(self._datasets)
            parts = [_gather(dataset, index) for dataset in self._datasets.values()]
            return gathered([dict(zip(keys, values)) for values in zip(*parts)],
                            dict(zip(keys, parts)))
        return {key: dataset[index] for key, dataset in self._datasets.items()}

    def __len__(self):
        return self._length

    def take(self, indices):
        """The examples at ``indices`` (an int array), each column read at once (forwarded
        to columns that have ``take``)."""
        indices = numpy.asarray(indices)
        return self[indices if indices.size else indices.astype(numpy.intp)]
