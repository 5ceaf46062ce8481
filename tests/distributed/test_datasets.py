"""scatter_dataset: each rank gets its own part, only that part is sent, in chunks if large."""
import numpy
import pytest

from dchain import distributed
from dchain.datasets import TupleDataset


def test_single_process_gets_everything():
    comm = distributed.create_communicator('single')
    x = numpy.arange(10)
    part = distributed.scatter_dataset(TupleDataset(x, x * 2), comm)
    assert isinstance(part, TupleDataset) and len(part) == 10
    assert [tuple(e) for e in part] == [(i, 2 * i) for i in range(10)]
    shuffled = distributed.scatter_dataset(list(range(10)), comm, shuffle=True, seed=1)
    assert sorted(shuffled) == list(range(10)) and shuffled != list(range(10))


def test_errors():
    comm = distributed.create_communicator('single')
    with pytest.raises(ValueError, match=r'scatter_dataset: root must be a rank in \[0, 1\), '
                                         r'got 1'):
        distributed.scatter_dataset([1], comm, root=1)
    with pytest.raises(ValueError, match='the root rank must pass the dataset, got None'):
        distributed.scatter_dataset(None, comm)
    with pytest.raises(ValueError, match='the dataset is empty'):
        distributed.scatter_dataset([], comm)


@pytest.mark.mpi
@pytest.mark.parametrize('n', [7, 12])
@pytest.mark.parametrize('force_equal_length', [True, False])
def test_parts_cover_the_dataset(n, force_equal_length):
    comm = distributed.create_communicator('mpi')
    dataset = TupleDataset(numpy.arange(n), numpy.arange(n) * 10) if comm.rank == 0 else None
    part = distributed.scatter_dataset(dataset, comm, shuffle=True, seed=3,
                                       force_equal_length=force_equal_length)
    mine = [int(x) for x, _ in part]
    assert all(int(t) == 10 * int(x) for x, t in part)
    everyone = comm.allgather_obj(mine)
    lengths = [len(p) for p in everyone]
    if force_equal_length:
        assert len(set(lengths)) == 1 and lengths[0] == -(-n // comm.size)
        assert set(sum(everyone, [])) == set(range(n))  # some may repeat to even out
    else:
        assert max(lengths) - min(lengths) <= 1
        assert sorted(sum(everyone, [])) == list(range(n))  # exactly once each


@pytest.mark.mpi
def test_large_parts_travel_in_chunks(monkeypatch):
    from dchain.distributed import communicator
    monkeypatch.setattr(communicator, '_CHUNK', 1000)  # a 2 GiB dataset in miniature
    comm = distributed.create_communicator('mpi')
    root = comm.size - 1
    data = numpy.arange(5000 * comm.size, dtype=numpy.float64).reshape(-1, 10)
    part = distributed.scatter_dataset(data if comm.rank == root else None, comm, root=root)
    n = len(data)
    start = n * comm.rank // comm.size
    numpy.testing.assert_array_equal(part, data[start:start + -(-n // comm.size)])
