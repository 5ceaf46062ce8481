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
    if force_equal_length:
        length = -(-n // size)
        start = n * rank // size
        return order[(start + numpy.arange(length)) % n]
    start, stop = shard_bounds(n, size, rank)
    return order[start:stop]


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
