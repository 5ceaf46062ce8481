"""ShardedIterator(n_prefetch=k): the same batches and positions as without prefetching;
and MultiprocessIterator under MPI (workers are not forked)."""
import threading
import types

import numpy
import pytest

from dchain import distributed
from dchain.dataset import DatasetMixin
from dchain.iterators import MultiprocessIterator, multiprocess_iterator

from dict_serializer import DictSerializer


def ranks(size):
    return [types.SimpleNamespace(rank=r, size=size) for r in range(size)]


class Broken(DatasetMixin):
    def __len__(self):
        return 10

    def get_example(self, i):
        if i == 7:
            raise IndexError('example 7 cannot be read')
        return i


def _run(iterators, steps):
    seen = []
    for _ in range(steps):
        try:
            parts = [next(it) for it in iterators]
        except StopIteration:
            break
        seen.append(([list(part) for part in parts], iterators[0].epoch,
                     iterators[0].is_new_epoch, iterators[0].epoch_detail))
    return seen


@pytest.mark.parametrize('n_prefetch', [1, 3])
@pytest.mark.parametrize('size', [1, 3])
@pytest.mark.parametrize('repeat', [True, False])
def test_prefetching_changes_nothing(n_prefetch, size, repeat):
    dataset = list(range(13))
    plain = [distributed.ShardedIterator(dataset, 4, c, seed=2, repeat=repeat)
             for c in ranks(size)]
    ahead = [distributed.ShardedIterator(dataset, 4, c, seed=2, repeat=repeat,
                                         n_prefetch=n_prefetch) for c in ranks(size)]
    assert _run(ahead, 12) == _run(plain, 12)
    for it in ahead:
        it.finalize()


def test_resume_and_reset_with_prefetching():
    dataset = list(range(13))
    comm = ranks(1)[0]
    original = distributed.ShardedIterator(dataset, 4, comm, seed=2, n_prefetch=2)
    for _ in range(5):
        next(original)
    state = {}
    original.serialize(DictSerializer(state, loading=False))
    assert (state['epoch'], state['current_position']) == (1, 4)  # not the read-ahead one
    expected = _run([original], 6)
    resumed = distributed.ShardedIterator(dataset, 4, comm, seed=2, n_prefetch=2)
    next(resumed)  # reads ahead from the start; the load drops that
    resumed.serialize(DictSerializer(state, loading=True))
    assert _run([resumed], 6) == expected
    resumed.reset()
    assert next(resumed) == list(numpy.random.default_rng([2, 0]).permutation(13)[:4])
    for it in (original, resumed):
        it.finalize()
    assert not [t for t in threading.enumerate() if t.name.startswith('dchain-ShardedIterator')]


def test_reading_error_surfaces_from_next():
    it = distributed.ShardedIterator(Broken(), 4, ranks(1)[0], shuffle=False, n_prefetch=2)
    next(it)
    with pytest.raises(IndexError, match='example 7 cannot be read'):
        next(it)
    it.finalize()


@pytest.mark.parametrize('n_prefetch', [-1, 1.5, True])
def test_bad_n_prefetch(n_prefetch):
    with pytest.raises(ValueError, match='ShardedIterator: n_prefetch must be a non-negative'):
        distributed.ShardedIterator([1, 2], 1, ranks(1)[0], n_prefetch=n_prefetch)


@pytest.mark.mpi
def test_multiprocess_iterator_under_mpi_does_not_fork():
    comm = distributed.create_communicator('mpi')
    assert multiprocess_iterator.start_method() in ('forkserver', 'spawn')
    dataset = numpy.arange(20) * 10
    with MultiprocessIterator(dataset, 4, seed=comm.rank, n_processes=2) as it:
        batch = next(it)
        assert it._executor._mp_context.get_start_method() in ('forkserver', 'spawn')
    expected = numpy.random.default_rng(comm.rank).permutation(20)[:4] * 10
    assert [int(x) for x in batch] == expected.tolist()
    comm.barrier()
