"""scatter_dataset: ChainerMN's way of giving each rank its own part of a dataset.

The root rank cuts the (optionally shuffled) dataset into ``comm.size`` contiguous parts and
sends each rank only its part, pickled and chunked so datasets over 2 GiB work; the whole
dataset is never broadcast. Datasets made of arrays (a TupleDataset of arrays, or an array)
travel as array slices; others as lists of examples.
"""
import pickle

import numpy

from dchain.distributed.iterators import shard_bounds


def _shard_indices(n, size, rank, order, force_equal_length):
    start, stop = _shard_range(n, size, rank, force_equal_length)
    return order[start:stop]


def _shard_range(n, size, rank, force_equal_length):
    """The [start, stop) of rank ``rank``'s part of ``n`` examples (see scatter_index)."""
    if force_equal_length:
        start = n * rank // size
        return start, start + -(-n // size)  # the last part ends exactly at n
    return shard_bounds(n, size, rank)


def scatter_index(n_total_samples, comm, root=0, *, force_equal_length=True):
    """This rank's part ``(start, stop)`` of the indices ``range(n_total_samples)``.

    The index arithmetic of ``scatter_dataset`` without moving any data (ChainerMN's
    ``scatter_index``): each rank can then read its part itself, e.g. with
    ``datasets.SubDataset(dataset, start, stop)``. ``root``'s ``n_total_samples`` is used;
    the other ranks may pass None, or the same number.

    Args:
        n_total_samples (int): the number of examples.
        comm: a dchain.distributed communicator.
        root (int): the rank whose ``n_total_samples`` counts.
        force_equal_length (bool): every part has ceil(n / size) indices, neighbouring parts
            overlapping by a few when n is not a multiple of the size (as scatter_dataset);
            False gives parts of n // size or n // size + 1 that cover the indices exactly once.
    Returns:
        tuple of int: ``(start, stop)``, stop excluded.
    """
    if not 0 <= root < comm.size:
        raise ValueError('scatter_index: root must be a rank in [0, {}), got {}'.format(
            comm.size, root))
    mine = n_total_samples
    if mine is not None and (isinstance(mine, bool) or not isinstance(mine, (int, numpy.integer))
                             or mine < 0):
        raise ValueError('scatter_index: n_total_samples must be a non-negative int, got '
                         '{!r}'.format(mine))
    everyone = comm.allgather_obj(None if mine is None else int(mine))
    n = everyone[root]
    if n is None:
        raise ValueError('scatter_index: the root rank {} must pass n_total_samples, got None'
                         .format(root))
    differ = [rank for rank, theirs in enumerate(everyone) if theirs not in (None, n)]
    if differ:
        raise ValueError('scatter_index: n_total_samples differs between ranks: rank {} has {}, '
                         'ranks {} have {}'.format(root, n, ', '.join(map(str, differ)),
                                                   ', '.join(str(everyone[r]) for r in differ)))
    return _shard_range(n, comm.size, comm.rank, force_equal_length)


def _take(dataset, indices):
    """The examples of ``dataset`` at ``indices``, as compact as the dataset allows."""
    from dchain.datasets import TupleDataset
    if isinstance(dataset, numpy.ndarray):
        return dataset[indices]
    parts = getattr(dataset, '_datasets', None)
    if isinstance(dataset, TupleDataset) and all(isinstance(p, numpy.ndarray) for p in parts):
        return TupleDataset(*[p[indices] for p in parts])
    return [dataset[int(i)] for i in indices]


def scatter_dataset(dataset, comm, root=0, shuffle=False, seed=None, max_buf_len=None,
                    force_equal_length=True):
    """Give each rank its part of ``dataset`` (held on ``root``; other ranks may pass None).

    Args:
        dataset: the dataset on the root rank.
        comm: a dchain.distributed communicator.
        root: the rank holding the dataset.
        shuffle: shuffle before cutting (with ``seed``).
        seed: the seed of that shuffle.
        max_buf_len: accepted for compatibility with ChainerMN (chunking is automatic).
        force_equal_length: every rank gets ceil(n / size) examples, repeating a few when n is
            not a multiple of the size (as ChainerMN); False gives parts of size n // size or
            n // size + 1 with no example repeated (for exact evaluation).
    Returns:
        This rank's part.
    """
    if not 0 <= root < comm.size:
        raise ValueError('scatter_dataset: root must be a rank in [0, {}), got {}'.format(
            comm.size, root))
    comm.check_collective('scatter_dataset', root=root)
    if comm.rank == root:
        if dataset is None:
            raise ValueError('scatter_dataset: the root rank must pass the dataset, got None')
        n = len(dataset)
        if n == 0:
            raise ValueError('scatter_dataset: the dataset is empty')
        order = numpy.random.default_rng(seed).permutation(n) if shuffle else numpy.arange(n)
        mine = None
        for rank in range(comm.size):
            part = _take(dataset, _shard_indices(n, comm.size, rank, order, force_equal_length))
            if rank == root:
                mine = part
            else:
                comm.send_bytes(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL), rank,
                                'scatter_dataset')
        return mine
    return pickle.loads(comm.recv_bytes(root, 'scatter_dataset'))


def create_empty_dataset(dataset):
    """A dataset of ``len(dataset)`` empty examples (ChainerMN's).

    For the ranks of a model-parallel program that take their inputs from other ranks
    (``MultiNodeChainList``): iterating over it keeps their iterator, epochs and evaluator
    in step with the rank that reads the real data, and each batch converts to no arguments.

    Args:
        dataset: any dataset (only its length is used).

    Returns:
        list: ``len(dataset)`` empty tuples.
    """
    try:
        length = len(dataset)
    except TypeError:
        raise TypeError('create_empty_dataset: dataset must have a length, got {}'.format(
            type(dataset).__name__)) from None
    return [()] * length
