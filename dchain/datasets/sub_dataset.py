"""SubDataset and the split functions: views of a part of a dataset, optionally reordered."""
import numpy

from dchain import random
from dchain.dataset.dataset_mixin import DatasetMixin, batch_reader, take_examples


def _is_int(value):
    return isinstance(value, (int, numpy.integer)) and not isinstance(value, bool)


class SubDataset(DatasetMixin):
    """The examples ``start`` to ``finish`` (exclusive) of ``dataset``, seen through
    ``order``: example i is ``dataset[order[start + i]]`` (``dataset[start + i]`` without
    ``order``). Nothing is copied.

    Args:
        dataset: the base dataset.
        start (int): the first position, 0 <= start <= finish.
        finish (int): one past the last position, at most ``len(dataset)``.
        order (array of ints): a permutation of the base dataset's indices, as long as it.
    """

    def __init__(self, dataset, start, finish, order=None):
        size = len(dataset)
        if not (_is_int(start) and _is_int(finish)):
            raise TypeError('SubDataset: start and finish must be ints, got {} and {}'.format(
                type(start).__name__, type(finish).__name__))
        if not 0 <= start <= finish <= size:
            raise ValueError('SubDataset: need 0 <= start <= finish <= len(dataset) = {}, got '
                             'start={} and finish={}'.format(size, start, finish))
        if order is not None:
            order = numpy.asarray(order)
            if order.shape != (size,) or (size and order.dtype.kind not in 'iu'):
                raise ValueError('SubDataset: order must be a 1-d int array as long as the '
                                 'dataset ({}), got shape {} of {}'.format(
                                     size, order.shape, order.dtype))
        self._dataset = dataset
        self._start = int(start)
        self._finish = int(finish)
        self._size = self._finish - self._start
        self._order = order

    def __len__(self):
        return self._size

    def _base_positions(self, positions):
        size = self._size
        if positions.size and (positions.min() < -size or positions.max() >= size):
            raise IndexError('SubDataset: index out of range for a dataset of {} examples'
                             .format(size))
        positions = positions + numpy.where(positions < 0, self._finish, self._start)
        return positions if self._order is None else self._order[positions]

    def __getitem__(self, index):
        if isinstance(index, slice):
            positions = numpy.arange(*index.indices(self._size))
        elif isinstance(index, (list, numpy.ndarray)):
            positions = numpy.asarray(index)
            if positions.size and positions.dtype.kind not in 'iu':
                raise TypeError('SubDataset: an index array must hold ints, got {}'.format(
                    positions.dtype))
        else:
            return self.get_example(index)
        if positions.size == 0:
            if batch_reader(self._dataset) is None:
                return []
            positions = positions.astype(numpy.intp)  # the base gives zero-length arrays
        # one gather from the base dataset instead of one lookup per example
        return take_examples(self._dataset, self._base_positions(positions))

    def take(self, indices):
        """The examples at ``indices`` (an int array), read from the base dataset at once
        (with its ``take`` when it has one)."""
        indices = numpy.asarray(indices)
        return self[indices if indices.size else indices.astype(numpy.intp)]

    def get_example(self, i):
        """The ``i``-th example (negative ``i`` counts from the end)."""
        if not -self._size <= i < self._size:
            raise IndexError('SubDataset: index {} out of range for a dataset of {} examples'
                             .format(i, self._size))
        index = self._start + i if i >= 0 else self._finish + i
        if self._order is not None:
            index = self._order[index]
        return self._dataset[index]


def split_dataset(dataset, split_at, order=None):
    """Split ``dataset`` into ``dataset[:split_at]`` and ``dataset[split_at:]`` (as seen
    through ``order``, when given) without copying.

    Args:
        dataset: the dataset to split.
        split_at (int): the size of the first part, 0 <= split_at <= len(dataset).
        order (array of ints): a permutation of the dataset's indices.
    Returns:
        Two SubDatasets.
    """
    if not _is_int(split_at):
        raise TypeError('split_dataset: split_at must be an int, got {}'.format(
            type(split_at).__name__))
    size = len(dataset)
    if not 0 <= split_at <= size:
        raise ValueError('split_dataset: split_at must lie in [0, {}] (the dataset size), got '
                         '{}'.format(size, split_at))
    return (SubDataset(dataset, 0, split_at, order),
            SubDataset(dataset, split_at, size, order))


def split_dataset_random(dataset, first_size, seed=None):
    """Split ``dataset`` at random into parts of ``first_size`` and ``len(dataset) -
    first_size`` examples (without copying).

    Args:
        dataset: the dataset to split.
        first_size (int): the size of the first part.
        seed (int): an int seed gives the permutation ``numpy.random.RandomState(seed)``
            draws, the same split as Chainer's for that seed; None draws from dchain's global
            generator (``dchain.random.seed`` makes it repeatable).
    Returns:
        Two SubDatasets.
    """
    size = len(dataset)
    if seed is None:
        order = random.get_generator().permutation(size)
    else:
        order = numpy.random.RandomState(seed).permutation(size)
    return split_dataset(dataset, first_size, order)


def split_dataset_n(dataset, n, order=None):
    """Split ``dataset`` into ``n`` parts of ``len(dataset) // n`` examples each (as seen
    through ``order``, when given); the last ``len(dataset) % n`` examples are left out, as in
    Chainer.

    Returns:
        A list of ``n`` SubDatasets.
    """
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n <= 0:
        raise ValueError('split_dataset_n: n must be a positive int, got {!r}'.format(n))
    size = len(dataset) // n
    return [SubDataset(dataset, size * i, size * (i + 1), order) for i in range(n)]


def split_dataset_n_random(dataset, n, seed=None):
    """Split ``dataset`` at random into ``n`` parts of ``len(dataset) // n`` examples each
    (without copying; the remainder is left out).

    Args:
        dataset: the dataset to split.
        n (int): the number of parts.
        seed (int): as in ``split_dataset_random``: an int seed gives Chainer's split for
            that seed; None draws from dchain's global generator.
    Returns:
        A list of ``n`` SubDatasets.
    """
    size = len(dataset)
    if seed is None:
        order = random.get_generator().permutation(size)
    else:
        order = numpy.random.RandomState(seed).permutation(size)
    return split_dataset_n(dataset, n, order)
