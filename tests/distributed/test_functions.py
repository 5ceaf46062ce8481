"""distributed.functions on one process (the 'single' communicator): gradient checks and
NumPy references. Their behaviour across ranks is tested in test_functions_mpi.py."""
import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import distributed
from dchain.distributed import functions as DF
from dchain.testing import check_backward


@pytest.fixture
def comm():
    return distributed.create_communicator('single')


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_allgather_alltoall_bcast_on_one_rank(comm, dtype):
    x = numpy.random.RandomState(0).randn(3, 2).astype(dtype)
    ys = DF.allgather(comm, x)
    assert isinstance(ys, tuple) and len(ys) == 1
    numpy.testing.assert_array_equal(ys[0].array, x)
    assert ys[0].dtype == dtype
    ys = DF.alltoall(comm, (x,))
    numpy.testing.assert_array_equal(ys[0].array, x)
    y = DF.bcast(comm, x)
    numpy.testing.assert_array_equal(y.array, x)
    ys = DF.gather(comm, x)
    assert isinstance(ys, tuple) and len(ys) == 1
    numpy.testing.assert_array_equal(ys[0].array, x)
    numpy.testing.assert_array_equal(DF.scatter(comm, [x]).array, x)


@pytest.mark.parametrize('function', ['allgather', 'alltoall', 'bcast', 'gather', 'scatter'])
def test_check_backward(comm, function):
    x = numpy.random.RandomState(1).randn(4, 3)
    gy = numpy.random.RandomState(2).randn(4, 3)

    def f(v):
        if function == 'allgather':
            return DF.allgather(comm, v)[0] * 2
        if function == 'alltoall':
            return DF.alltoall(comm, [F.tanh(v)])[0]
        if function == 'gather':
            return DF.gather(comm, v * v)[0]
        if function == 'scatter':
            return DF.scatter(comm, [F.tanh(v)])
        return F.exp(DF.bcast(comm, v))
    check_backward(f, x, gy)


def test_pseudo_connect(comm):
    x = numpy.random.RandomState(3).randn(2, 3)
    w = numpy.random.RandomState(4).randn(2, 3)
    gy = numpy.ones((2, 3))

    def f(delegate, v):
        y, = DF.pseudo_connect(delegate * 3, v)
        return y * y
    check_backward(f, (w, x), gy, no_grads=[True, False])
    # the delegate's graph runs too, with a zero gradient
    d = dchain.Variable(w)
    v = dchain.Variable(x)
    y, = DF.pseudo_connect(F.exp(d), v)
    F.sum(y).backward()
    numpy.testing.assert_array_equal(d.grad, numpy.zeros_like(w))
    numpy.testing.assert_array_equal(v.grad, numpy.ones_like(x))
    assert y.array is x or numpy.array_equal(y.array, x)
    a, b = DF.pseudo_connect(None, x, w)
    numpy.testing.assert_array_equal(b.array, w)


def test_multi_node_chain_list_on_one_rank_sends_to_itself(comm):
    dchain.random.seed(0)
    first, second = L.Linear(3, 4), L.Linear(4, 2)

    class Model(distributed.MultiNodeChainList):
        def __init__(self):
            super().__init__(comm=comm)
            self.add_link(first, rank_in=None, rank_out=0)
            self.add_link(second, rank_in=0, rank_out=None)

    model = Model()
    assert [name for name, _ in model.namedparams()] == ['/0/W', '/0/b', '/1/W', '/1/b']
    x = numpy.random.RandomState(5).randn(5, 3).astype(numpy.float32)
    y = model(x)
    expected = (x @ first.W.array.T + first.b.array) @ second.W.array.T + second.b.array
    numpy.testing.assert_allclose(y.array, expected, rtol=1e-5)
    F.sum(y * y).backward()
    grads = [p.grad.copy() for p in model.params()]
    model.cleargrads()
    F.sum(second(first(x)) ** 2).backward()
    for grad, param in zip(grads, model.params()):
        numpy.testing.assert_allclose(grad, param.grad, rtol=1e-5)


def test_create_empty_dataset():
    empty = distributed.create_empty_dataset(dchain.datasets.TupleDataset(numpy.zeros(5)))
    assert empty == [()] * 5
    assert distributed.datasets.create_empty_dataset is distributed.create_empty_dataset
    assert dchain.dataset.concat_examples(empty[:2]) == ()
    with pytest.raises(TypeError, match='create_empty_dataset: dataset must have a length, '
                                        'got int'):
        distributed.create_empty_dataset(3)


def test_errors(comm):
    x = numpy.ones(2, numpy.float32)
    with pytest.raises(ValueError, match=r'send: rank must be another rank than this one \(0\)'):
        DF.send(x, comm, 0)
    with pytest.raises(ValueError, match=r'recv: rank must be a rank of the communicator, '
                                         r'in \[0, 1\), got 3'):
        DF.recv(comm, 3)
    with pytest.raises(TypeError, match='recv: delegate_variable must be a Variable or None'):
        DF.recv(_TwoRanks(), 1, delegate_variable=x)
    with pytest.raises(ValueError, match=r'alltoall: xs must be a tuple of comm.size \(1\) '
                                         r'arrays, got 2'):
        DF.alltoall(comm, (x, x))
    with pytest.raises(ValueError, match=r'bcast: root must be a rank in \[0, 1\), got 1'):
        DF.bcast(comm, x, root=1)
    with pytest.raises(ValueError, match=r'gather: root must be a rank in \[0, 1\), got -1'):
        DF.gather(comm, x, root=-1)
    with pytest.raises(ValueError, match=r'scatter: xs must be a tuple of comm.size \(1\) arrays '
                                         r'on the root rank, got NoneType'):
        DF.scatter(comm, None)
    with pytest.raises(TypeError, match='allgather: comm must be a communicator'):
        DF.allgather(object(), x)
    with pytest.raises(ValueError, match='pseudo_connect: give at least one actual variable'):
        DF.pseudo_connect(None)
    with pytest.raises(ValueError, match='SingleCommunicator.send: a communicator of one '
                                         'process has no other rank'):
        comm.send(x, 1)
    with pytest.raises(ValueError, match=r'add_link: rank_in must be None, a rank or a list '
                                         r'of ranks in \[0, 1\), got 2'):
        distributed.MultiNodeChainList(comm).add_link(L.Linear(2, 2), rank_in=2)
    chain = distributed.MultiNodeChainList(comm)
    chain.add_link(L.Linear(2, 2), rank_out=None)
    with pytest.raises(ValueError, match='only one component may have rank_out=None'):
        chain.add_link(L.Linear(2, 2), rank_out=None)
    chain = distributed.MultiNodeChainList(comm)
    chain.add_link(L.Linear(2, 2), rank_in=None, rank_out=0)
    with pytest.raises(ValueError, match=r'1 output\(s\) sent to this rank were never received'):
        chain(x[None])


class _TwoRanks(distributed.SingleCommunicator):
    """Claims two ranks: enough to reach the argument checks that come before any message."""
    rank, size = 0, 2
