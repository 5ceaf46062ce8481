"""Point-to-point messages and differentiable communication across ranks; run under
``mpirun -n N python -m mpi4py -m pytest --with-mpi -m mpi`` (any N; the send/recv tests need
two ranks at least). Expected values are derived from rank and size."""
import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import distributed
from dchain.distributed import functions as DF

pytestmark = pytest.mark.mpi


@pytest.fixture(scope='module')
def comm():
    return distributed.create_communicator('mpi')


def _needs_two(comm):
    if comm.size < 2:
        pytest.skip('needs two ranks')


def test_send_recv_arrays_tuples_tags_and_empty(comm):
    _needs_two(comm)
    right, left = (comm.rank + 1) % comm.size, (comm.rank - 1) % comm.size
    if comm.rank == 0:
        comm.send(numpy.arange(6, dtype=numpy.float16).reshape(2, 3), right, tag=5)
        comm.send((numpy.full(3, 7, numpy.int64), numpy.zeros((0, 4), numpy.uint8)), right)
    if comm.rank == 1:
        # the two messages are received in the other order than sent: tags tell them apart
        pair = comm.recv(0)
        first = comm.recv(0, tag=5)
        assert first.dtype == numpy.float16 and first.shape == (2, 3)
        numpy.testing.assert_array_equal(first, numpy.arange(6).reshape(2, 3))
        assert isinstance(pair, tuple) and len(pair) == 2
        assert pair[0].dtype == numpy.int64 and (pair[0] == 7).all()
        assert pair[1].shape == (0, 4) and pair[1].dtype == numpy.uint8
    received = comm.sendrecv(numpy.full(2, comm.rank, numpy.float32), right, left)
    numpy.testing.assert_array_equal(received, [left, left])


def test_p2p_errors(comm):
    x = numpy.ones(2, numpy.float32)
    with pytest.raises(ValueError, match=r'send: dest must be another rank in \[0, {}\) than '
                                         r'this one \({}\), got {}'.format(
                                             comm.size, comm.rank, comm.rank)):
        comm.send(x, comm.rank)
    with pytest.raises(ValueError, match='recv: source must be another rank'):
        comm.recv(comm.size)
    if comm.size > 1:
        other = (comm.rank + 1) % comm.size
        with pytest.raises(ValueError, match=r'send: tag must be an int in \[0, 16384\), '
                                             r'got -1'):
            comm.send(x, other, tag=-1)
        with pytest.raises(TypeError, match='send: data must be an array or a tuple of arrays, '
                                            'got list'):
            comm.send([[1, 2]], other)
        with pytest.raises(TypeError, match='send: arrays of dtype object cannot be sent'):
            comm.send(numpy.array([None]), other)


def test_allgather_shapes_per_rank_and_gradients(comm):
    n, r = comm.size, comm.rank
    x = dchain.Variable(numpy.full((r + 1, 2), float(r)))
    ys = DF.allgather(comm, x)
    assert len(ys) == n
    for i, y in enumerate(ys):
        assert y.shape == (i + 1, 2) and (y.array == i).all()
    # loss of rank r: sum over i of (r + 1) (i + 1) sum(y_i); x_k's gradient sums over ranks
    loss = sum(F.sum(y) * ((r + 1) * (i + 1)) for i, y in enumerate(ys))
    loss.backward()
    numpy.testing.assert_allclose(x.grad, (r + 1) * n * (n + 1) / 2)


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float16])
def test_bcast_gradient_sums_into_root(comm, dtype):
    root = comm.size - 1
    x = dchain.Variable(numpy.arange(3, dtype=dtype) + 1)
    y = DF.bcast(comm, x if comm.rank == root else None, root=root)
    assert y.dtype == dtype
    numpy.testing.assert_array_equal(y.array, numpy.arange(3) + 1)
    F.sum(y * float(comm.rank + 1)).backward()
    if comm.rank == root:
        numpy.testing.assert_allclose(x.grad, comm.size * (comm.size + 1) / 2)
    else:
        assert x.grad is None


def test_alltoall_shapes_and_gradients(comm):
    n, r = comm.size, comm.rank
    xs = [dchain.Variable(numpy.full(k + 1, 10.0 * r + k)) for k in range(n)]
    ys = DF.alltoall(comm, xs)
    for s, y in enumerate(ys):   # what rank s gave this rank
        assert y.shape == (r + 1,) and (y.array == 10 * s + r).all()
    loss = sum(F.sum(y) * float((r + 1) * (s + 2)) for s, y in enumerate(ys))
    loss.backward()
    for k, x in enumerate(xs):   # xs[k] went to rank k, which weighed it by (k + 1) (r + 2)
        numpy.testing.assert_allclose(x.grad, (k + 1) * (r + 2))


def test_send_recv_pipeline_around_the_ring(comm):
    _needs_two(comm)
    n, r = comm.size, comm.rank
    factor = numpy.prod([k + 2.0 for k in range(1, n)])
    if r == 0:
        x = dchain.Variable(numpy.array([1.0, -2.0]))
        delegate = DF.send(x * 1, comm, 1)
        assert delegate.shape == (0,) and delegate.name == 'delegate_variable'
        z = DF.recv(comm, n - 1, delegate_variable=delegate)
        numpy.testing.assert_allclose(z.array, x.array * factor)
        F.sum(z * z / 2).backward()
        numpy.testing.assert_allclose(x.grad, x.array * factor ** 2)
    else:
        h = DF.recv(comm, r - 1)
        w = dchain.Variable(numpy.array(r + 2.0))
        delegate = DF.send(h * F.broadcast_to(w, h.shape), comm, (r + 1) % n)
        delegate.backward()   # receives the gradient of what it sent and passes it on
        # d loss / d w = sum(gradient of the output * h)
        z = numpy.array([1.0, -2.0]) * factor
        numpy.testing.assert_allclose(w.grad, numpy.sum(z * factor / (r + 2.0) *
                                                        numpy.array([1.0, -2.0])))


def test_tuples_and_an_unused_output(comm):
    _needs_two(comm)
    if comm.rank == 0:
        a = dchain.Variable(numpy.ones(2, numpy.float32))
        b = dchain.Variable(numpy.ones((1, 3), numpy.float32))
        delegate = DF.send((a, b * 1), comm, 1, tag=2)
        z = DF.recv(comm, 1, delegate_variable=delegate, tag=2, force_tuple=True)
        assert isinstance(z, tuple) and len(z) == 1
        F.sum(z[0]).backward()
        numpy.testing.assert_array_equal(a.grad, [3, 3])
        numpy.testing.assert_array_equal(b.grad, numpy.zeros((1, 3)))  # unused on rank 1
    elif comm.rank == 1:
        a, b = DF.recv(comm, 0, tag=2)
        assert a.shape == (2,) and b.shape == (1, 3)
        DF.send(a * 3, comm, 0, tag=2).backward()


class _Sub(dchain.Chain):
    def __init__(self, n_in, n_out):
        super().__init__()
        with self.init_scope():
            self.linear = L.Linear(n_in, n_out)

    def forward(self, x):
        return F.tanh(self.linear(x))


def test_multi_node_chain_list_equals_the_model_on_one_rank(comm):
    _needs_two(comm)
    dchain.random.seed(3)   # the same three parts on every rank, for the reference
    first, middle, last = _Sub(4, 5), _Sub(5, 3), _Sub(3, 2)
    x = numpy.random.RandomState(0).randn(6, 4).astype(numpy.float32)
    reference = [p.array.copy() for p in (first.linear.W, middle.linear.W, last.linear.W)]
    if comm.rank == 0:
        model = distributed.MultiNodeChainList(comm)
        model.add_link(first, rank_in=None, rank_out=1)
        model.add_link(last, rank_in=1, rank_out=None)
        y = model(x)
        F.sum(y * y).backward()
        got = {'first': first.linear.W.grad.copy(), 'last': last.linear.W.grad.copy()}
    elif comm.rank == 1:
        model = distributed.MultiNodeChainList(comm)
        model.add_link(middle, rank_in=0, rank_out=0)
        delegate = model()
        assert delegate.shape == (0,)
        delegate.backward()
        got = {'middle': middle.linear.W.grad.copy()}
    else:
        return
    for link, w in zip((first, middle, last), reference):
        link.cleargrads()
        numpy.testing.assert_array_equal(link.linear.W.array, w)
    y_ref = last(middle(first(x)))
    if comm.rank == 0:
        numpy.testing.assert_allclose(y.array, y_ref.array, rtol=1e-5)
    F.sum(y_ref * y_ref).backward()
    links = {'first': first, 'middle': middle, 'last': last}
    for name, grad in got.items():
        numpy.testing.assert_allclose(grad, links[name].linear.W.grad, rtol=1e-4, atol=1e-6)


def test_gather_to_root_and_gradients_back(comm):
    n, r = comm.size, comm.rank
    root = n - 1
    x = dchain.Variable(numpy.full((r + 1,), float(r)))
    out = DF.gather(comm, x, root=root)
    if r == root:
        assert isinstance(out, tuple) and len(out) == n
        for i, y in enumerate(out):
            assert y.shape == (i + 1,) and (y.array == i).all()
        sum(F.sum(y) * float(i + 1) for i, y in enumerate(out)).backward()
    else:
        assert out.shape == (0,)
        out.backward()
    numpy.testing.assert_array_equal(x.grad, numpy.full(r + 1, r + 1.0))


def test_scatter_from_root_and_gradients_back(comm):
    n, r = comm.size, comm.rank
    root = 0
    xs = [dchain.Variable(numpy.full((k + 1, 2), 10.0 + k)) for k in range(n)]
    y = DF.scatter(comm, xs if r == root else None, root=root)
    assert y.shape == (r + 1, 2) and (y.array == 10 + r).all()
    F.sum(y * float(r + 2)).backward()
    if r == root:
        for k, x in enumerate(xs):
            numpy.testing.assert_array_equal(x.grad, numpy.full((k + 1, 2), k + 2.0))
    else:
        assert all(x.grad is None for x in xs)


def test_model_parallel_training_with_an_empty_dataset(comm, tmp_path):
    # ChainerMN's model-parallel recipe: rank 0 reads the data and computes the loss, rank 1
    # trains the middle of the model on create_empty_dataset, both under a plain Trainer
    _needs_two(comm)
    pair = comm.split(0 if comm.rank < 2 else 1, comm.rank)   # every rank splits
    if comm.rank > 1:
        return
    from dchain import datasets, iterators, optimizers, training
    from dchain.training import extensions
    rng = numpy.random.RandomState(0)
    x = rng.randn(64, 4).astype(numpy.float32)
    t = (x[:, 0] + x[:, 1] > 0).astype(numpy.int32)
    train = datasets.TupleDataset(x[:48], t[:48])
    test = datasets.TupleDataset(x[48:], t[48:])
    dchain.random.seed(1)
    if comm.rank == 0:
        chain = distributed.MultiNodeChainList(pair)
        chain.add_link(_Sub(4, 8), rank_in=None, rank_out=1)
        chain.add_link(L.Linear(8, 2), rank_in=1, rank_out=None)
        model = L.Classifier(chain)
    else:
        model = distributed.MultiNodeChainList(pair)
        model.add_link(_Sub(8, 8), rank_in=0, rank_out=0)
        train = distributed.create_empty_dataset(train)
        test = distributed.create_empty_dataset(test)
    optimizer = optimizers.Adam(alpha=0.05).setup(model)
    train_iter = iterators.SerialIterator(train, 8, shuffle=False)
    test_iter = iterators.SerialIterator(test, 8, repeat=False, shuffle=False)
    updater = training.StandardUpdater(train_iter, optimizer)
    trainer = training.Trainer(updater, (4, 'epoch'), out=str(tmp_path))
    trainer.extend(extensions.Evaluator(test_iter, model), call_before_training=True)
    if comm.rank == 0:
        log_report = extensions.LogReport()
        trainer.extend(log_report, call_before_training=True)
    trainer.run()
    if comm.rank == 0:
        log = log_report.log
        assert [e['epoch'] for e in log] == [0, 1, 2, 3, 4]
        assert log[-1]['main/loss'] < log[1]['main/loss']
        assert log[-1]['validation/main/loss'] < log[0]['validation/main/loss']
        assert log[-1]['validation/main/accuracy'] >= 0.75
