"""Collectives, run under ``mpirun -n N python -m mpi4py -m pytest --with-mpi`` at any N."""
import numpy
import pytest

import dchain
import dchain.links as L
from dchain import distributed

pytestmark = pytest.mark.mpi

DTYPES = [numpy.float16, numpy.float32, numpy.float64, numpy.int32, numpy.int64, numpy.uint8]


@pytest.fixture(scope='module')
def comm():
    return distributed.create_communicator('mpi')


def test_attributes(comm):
    from mpi4py import MPI
    world = MPI.COMM_WORLD
    assert comm.rank == world.rank and comm.size == world.size
    assert 0 <= comm.intra_rank < comm.intra_size <= comm.size
    assert 0 <= comm.inter_rank < comm.inter_size
    assert comm.intra_size * comm.inter_size == comm.size  # one node here, or equal nodes
    assert comm.mpi_comm is world


@pytest.mark.parametrize('dtype', DTYPES)
def test_allreduce(comm, dtype):
    x = numpy.arange(6).reshape(2, 3).astype(dtype) + comm.rank
    total = sum(numpy.arange(6).reshape(2, 3) + r for r in range(comm.size))
    result = comm.allreduce(x)
    assert result.dtype == dtype and result.shape == (2, 3)
    numpy.testing.assert_array_equal(result, total.astype(dtype))
    assert (x == numpy.arange(6).reshape(2, 3).astype(dtype) + comm.rank).all()  # untouched
    numpy.testing.assert_array_equal(comm.allreduce(x, 'max'),
                                     (numpy.arange(6).reshape(2, 3) + comm.size - 1).astype(dtype))
    numpy.testing.assert_array_equal(comm.allreduce(x, 'min'),
                                     numpy.arange(6).reshape(2, 3).astype(dtype))
    mean = comm.allreduce(x, 'mean')
    expected = total / comm.size
    if numpy.dtype(dtype).kind != 'f':
        expected = total // comm.size
    numpy.testing.assert_allclose(mean.astype(numpy.float64), expected, rtol=1e-3)


@pytest.mark.parametrize('dtype', DTYPES)
def test_bcast(comm, dtype):
    x = numpy.full((3, 2), 7, dtype) if comm.rank == 0 else None
    result = comm.bcast(x)
    assert result.dtype == dtype and result.shape == (3, 2) and (result == 7).all()
    root = comm.size - 1
    y = numpy.full(4, comm.rank, dtype)
    assert (comm.bcast(y, root=root) == root).all()


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64, numpy.int64])
def test_allreduce_deterministic(comm, dtype):
    x = (numpy.arange(5) * (comm.rank + 1)).astype(dtype)
    expected = sum(numpy.arange(5) * (r + 1) for r in range(comm.size)).astype(dtype)
    result = comm.allreduce_deterministic(x)
    numpy.testing.assert_array_equal(result, expected)
    # Bitwise the same on every rank.
    assert len({r.tobytes() for r in comm.allgather_obj(result)}) == 1


def test_object_collectives(comm):
    gathered = comm.allgather_obj({'rank': comm.rank, 'text': 'x' * comm.rank})
    assert gathered == [{'rank': r, 'text': 'x' * r} for r in range(comm.size)]
    on_root = comm.gather_obj(comm.rank * 10)
    if comm.rank == 0:
        assert on_root == [r * 10 for r in range(comm.size)]
    else:
        assert on_root is None
    assert comm.allreduce_obj(comm.rank + 1) == comm.size * (comm.size + 1) // 2
    assert comm.allreduce_obj([comm.rank]) == list(range(comm.size))
    value = comm.bcast_obj({'answer': 42} if comm.rank == 0 else None)
    assert value == {'answer': 42}
    comm.barrier()


def test_large_object_in_chunks(comm, monkeypatch):
    from dchain.distributed import communicator
    monkeypatch.setattr(communicator, '_CHUNK', 64 * comm.size)  # force many pieces
    data = bytes(range(256)) * (comm.rank + 3)
    gathered = comm.allgather_obj(data)
    assert gathered == [bytes(range(256)) * (r + 3) for r in range(comm.size)]
    assert comm.bcast_obj(data) == bytes(range(256)) * 3


def test_split(comm):
    sub = comm.split(comm.rank % 2, comm.rank)
    members = [r for r in range(comm.size) if r % 2 == comm.rank % 2]
    assert sub.size == len(members) and sub.rank == members.index(comm.rank)
    assert sub.allreduce_obj(comm.rank) == sum(members)


def test_bcast_data_and_mean_grad(comm):
    dchain.random.seed(comm.rank)  # different models on purpose
    model = dchain.Sequential(L.Linear(3, 2))
    comm.bcast_data(model)
    weights = comm.allgather_obj(model[0].W.data)
    for w in weights:
        numpy.testing.assert_array_equal(w, weights[0])
    model[0].W.grad = numpy.full((2, 3), comm.rank, numpy.float32)
    model[0].b.grad = numpy.full(2, 2.0 * comm.rank, numpy.float32)
    comm.multi_node_mean_grad(model)
    mean = (comm.size - 1) / 2
    numpy.testing.assert_allclose(model[0].W.grad, mean)
    numpy.testing.assert_allclose(model[0].b.grad, 2 * mean)


def test_errors(comm):
    with pytest.raises(ValueError, match="allreduce: op must be one of sum, mean, max, min, "
                                         "got 'prod'"):
        comm.allreduce(numpy.ones(2), 'prod')
    with pytest.raises(TypeError, match='allreduce: expected a numpy or cupy array, got list'):
        comm.allreduce([1, 2])
    with pytest.raises(ValueError, match=r'bcast_obj: root must be a rank in \[0, {}\), '
                                         'got {}'.format(comm.size, comm.size)):
        comm.bcast_obj(1, root=comm.size)
    with pytest.raises(ValueError, match=r'gather_obj: root must be a rank in \[0, {}\), '
                                         'got -1'.format(comm.size)):
        comm.gather_obj(1, root=-1)


def test_array_collectives_of_any_shape(comm):
    # ChainerMN's comm.allgather, alltoall, gather and scatter: rank r's arrays have r + 1 rows
    def mine(rank, to=0):
        return numpy.full((rank + 1, 2), 10 * rank + to, numpy.float32)
    gathered = comm.allgather(mine(comm.rank))
    assert isinstance(gathered, tuple) and len(gathered) == comm.size
    for rank, y in enumerate(gathered):
        numpy.testing.assert_array_equal(y, mine(rank))
    received = comm.alltoall([mine(comm.rank, to) for to in range(comm.size)])
    for rank, y in enumerate(received):
        numpy.testing.assert_array_equal(y, mine(rank, comm.rank))
    root = comm.size - 1
    gathered = comm.gather(mine(comm.rank), root=root)
    if comm.rank == root:
        assert [y.shape for y in gathered] == [(r + 1, 2) for r in range(comm.size)]
        numpy.testing.assert_array_equal(gathered[0], mine(0))
    else:
        assert gathered is None
    pieces = [numpy.arange(r + 2, dtype=numpy.int64) * r for r in range(comm.size)]
    numpy.testing.assert_array_equal(
        comm.scatter(pieces if comm.rank == root else None, root=root), pieces[comm.rank])
    # an array whose first axis is the rank
    stacked = numpy.arange(comm.size * 3, dtype=numpy.float64).reshape(comm.size, 3)
    numpy.testing.assert_array_equal(comm.scatter(stacked if comm.rank == 0 else None),
                                     stacked[comm.rank])


def test_array_collectives_errors(comm):
    with pytest.raises(TypeError, match='allgather: x must be a numpy or cupy array, got list'):
        comm.allgather([1, 2])
    with pytest.raises(ValueError, match=r'alltoall: xs must hold comm.size \({}\) arrays, one '
                                         r'per rank, got {}'.format(comm.size, comm.size + 1)):
        comm.alltoall([numpy.zeros(1)] * (comm.size + 1))
    with pytest.raises(ValueError, match=r'scatter: root must be a rank in \[0, {}\), got '
                                         '{}'.format(comm.size, comm.size)):
        comm.scatter(None, root=comm.size)
