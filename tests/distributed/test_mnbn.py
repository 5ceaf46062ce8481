"""Synchronized batch normalization: MultiNodeBatchNormalization, create_mnbn_model and
AllreducePersistent. The ``mpi`` tests pass at any number of ranks: N ranks with the
synchronized BN must equal one process with plain BN on the same global batches."""
import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import distributed, optimizers, testing
from dchain.distributed.links.batch_normalization import MultiNodeBNFunction

SINGLE = distributed.create_communicator('single')


def reference_bn(x, gamma, beta, eps, axes):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    shape = [1 if i in axes else n for i, n in enumerate(x.shape)]
    return gamma.reshape(shape) * (x - mean) / numpy.sqrt(var + eps) + beta.reshape(shape)


@pytest.mark.parametrize('shape,axes', [((6, 3), (0,)), ((4, 3, 2, 2), (0, 2, 3))])
def test_forward_matches_numpy_on_one_process(shape, axes):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    running_mean, running_var = numpy.zeros(3), numpy.ones(3)
    y, = MultiNodeBNFunction(SINGLE, 2e-5, running_mean, running_var, 0.9, axes).apply(
        (x, gamma, beta))
    numpy.testing.assert_allclose(y.array, reference_bn(x, gamma, beta, 2e-5, axes),
                                  rtol=1e-10, atol=1e-12)
    m = x.size // 3
    numpy.testing.assert_allclose(running_mean, 0.1 * x.mean(axis=axes), rtol=1e-12)
    numpy.testing.assert_allclose(running_var, 0.9 + 0.1 * x.var(axis=axes) * m / (m - 1),
                                  rtol=1e-12)


def test_backward_on_one_process():
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((5, 3, 2))
    gamma, beta = rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)
    gy = rng.standard_normal(x.shape)

    def f(x, gamma, beta):
        return MultiNodeBNFunction(SINGLE, 2e-5, None, None, 0.9, (0, 2)).apply(
            (x, gamma, beta))[0]
    testing.check_backward(f, (x, gamma, beta), gy, atol=1e-6, rtol=1e-5)


def test_link_equals_plain_batch_normalization_on_one_process():
    rng = numpy.random.default_rng(2)
    x = rng.standard_normal((8, 4)).astype(numpy.float32)
    plain = L.BatchNormalization(4)
    synced = distributed.MultiNodeBatchNormalization(4, SINGLE)
    y0, y1 = plain(x), synced(x)
    numpy.testing.assert_allclose(y1.array, y0.array, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(synced.avg_mean, plain.avg_mean, rtol=1e-5, atol=1e-7)
    numpy.testing.assert_allclose(synced.avg_var, plain.avg_var, rtol=1e-5)
    with dchain.using_config('train', False):
        numpy.testing.assert_allclose(synced(x).array, plain(x).array, rtol=1e-5, atol=1e-6)
    assert distributed.links.MultiNodeBatchNormalization is distributed.MultiNodeBatchNormalization
    assert distributed.extensions.AllreducePersistent is distributed.AllreducePersistent


def test_no_sample_on_any_rank_normalizes_nothing_and_keeps_the_statistics():
    # e.g. an empty micro-batch of a short last batch: no NaN in the running statistics
    bn = distributed.MultiNodeBatchNormalization(3, SINGLE)
    x = dchain.Variable(numpy.zeros((0, 3), numpy.float32))
    y = bn(x)
    assert y.shape == (0, 3)
    F.sum(y).backward()
    assert x.grad.shape == (0, 3)
    numpy.testing.assert_array_equal(bn.gamma.grad, numpy.zeros(3, numpy.float32))
    numpy.testing.assert_array_equal(bn.avg_mean, numpy.zeros(3, numpy.float32))
    numpy.testing.assert_array_equal(bn.avg_var, numpy.ones(3, numpy.float32))


@pytest.mark.mpi
def test_micro_batches_of_a_short_last_batch_with_synchronized_bn():
    """Batches of one sample in 2 micro-batches (as a short last batch has): the first
    micro-batch is empty on every rank; the steps still equal one process with plain BN."""
    comm = distributed.create_communicator('mpi')
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((5, 4)).astype(numpy.float32)
    t = rng.integers(0, 3, 5).astype(numpy.int32)
    dataset = dchain.datasets.TupleDataset(x, t)

    def run(communicator, model, micro_batches):
        optimizer = distributed.create_multi_node_optimizer(
            optimizers.MomentumSGD(lr=0.1), communicator, micro_batches=micro_batches)
        optimizer.setup(model)
        iterator = distributed.ShardedIterator(dataset, 1, communicator, seed=0)
        for _ in range(5):
            optimizer.update(model, *dchain.dataset.concat_examples(next(iterator)))
        return {path: p.data.copy() for path, p in model.namedparams()}

    dchain.random.seed(0)
    plain = L.Classifier(Net())
    dchain.random.seed(0)
    synced = distributed.create_mnbn_model(L.Classifier(Net()), comm)
    expected = run(SINGLE, plain, 1)
    got = run(comm, synced, 2)
    for path in expected:
        numpy.testing.assert_allclose(got[path], expected[path], rtol=1e-5, atol=1e-6,
                                      err_msg=path)


class Net(dchain.Chain):
    def __init__(self, bn=None, n_out=3):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(4, 5)
            self.bn = bn or L.BatchNormalization(5)
            self.seq = dchain.Sequential(L.Linear(5, 6), F.relu, L.BatchNormalization(6))
            self.l2 = L.Linear(6, n_out)

    def forward(self, x):
        return self.l2(self.seq(F.relu(self.bn(self.l1(x)))))


def test_create_mnbn_model_swaps_every_bn_and_keeps_parameters():
    dchain.random.seed(0)
    model = L.Classifier(Net())
    model.predictor.bn.avg_mean[...] = 3.0
    model.predictor.bn.gamma.array[...] = 2.0
    mnbn = distributed.create_mnbn_model(model, SINGLE)
    bn, seq_bn = mnbn.predictor.bn, mnbn.predictor.seq[2]
    assert type(bn) is distributed.MultiNodeBatchNormalization
    assert type(seq_bn) is distributed.MultiNodeBatchNormalization
    assert mnbn.predictor.seq._children[1] is seq_bn
    assert type(model.predictor.bn) is L.BatchNormalization  # the original is untouched
    assert (bn.avg_mean == 3.0).all() and (bn.gamma.array == 2.0).all()
    assert bn.avg_mean is not model.predictor.bn.avg_mean
    assert bn.decay == model.predictor.bn.decay and bn.eps == model.predictor.bn.eps
    assert [p for p, _ in mnbn.namedparams()] == [p for p, _ in model.namedparams()]
    x = numpy.random.default_rng(0).standard_normal((6, 4)).astype(numpy.float32)
    numpy.testing.assert_allclose(mnbn.predictor(x).array, model.predictor(x).array,
                                  rtol=1e-5, atol=1e-6)
    assert type(distributed.create_mnbn_model(L.BatchNormalization(3), SINGLE)) is \
        distributed.MultiNodeBatchNormalization


# -- N ranks against one process ------------------------------------------------------------
def make_model(comm):
    dchain.random.seed(4)
    dtype = numpy.float64
    init = dchain.initializers.LeCunNormal(dtype=dtype)

    def linear(n_in, n_out):
        return L.Linear(n_in, n_out, initialW=init, initial_bias=dchain.initializers.Zero(dtype))
    model = L.Classifier(dchain.Sequential(
        linear(4, 6), L.BatchNormalization(6, dtype=dtype), F.relu, linear(6, 3)))
    return model if comm is None else distributed.create_mnbn_model(model, comm)


def train(comm, dataset, batch_size, steps):
    single = comm is None
    comm_for_data = SINGLE if single else comm
    model = make_model(None if single else comm)
    opt = distributed.create_multi_node_optimizer(optimizers.MomentumSGD(lr=0.1),
                                                  comm_for_data).setup(model)
    iterator = distributed.ShardedIterator(dataset, batch_size, comm_for_data, seed=3)
    for _ in range(steps):
        x, t = dchain.dataset.concat_examples(next(iterator))
        opt.update(model, x, t)
    values = {path: p.array.copy() for path, p in model.namedparams()}
    values['avg_mean'] = model.predictor[1].avg_mean.copy()
    values['avg_var'] = model.predictor[1].avg_var.copy()
    return values


@pytest.mark.mpi
@pytest.mark.parametrize('n,batch_size', [(24, 12), (25, 12), (14, 7)])
def test_ranks_with_synchronized_bn_equal_one_process(n, batch_size):
    """Even and uneven splits; 25 = 12 + 12 + 1 leaves ranks with no sample at all."""
    comm = distributed.create_communicator('mpi')
    rng = numpy.random.default_rng(0)
    dataset = dchain.datasets.TupleDataset(rng.standard_normal((n, 4)),
                                           rng.integers(0, 3, n).astype(numpy.int32))
    steps = 2 * -(-n // batch_size) + 1
    got = train(comm, dataset, batch_size, steps)
    expected = train(None, dataset, batch_size, steps)
    assert got.keys() == expected.keys()
    for key in expected:
        numpy.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-7,
                                      err_msg=key)


@pytest.mark.mpi
def test_allreduce_persistent_averages_bn_statistics():
    comm = distributed.create_communicator('mpi')
    model = L.Classifier(Net())
    for link in (model.predictor.bn, model.predictor.seq[2]):
        link.avg_mean[...] = comm.rank
        link.avg_var[...] = 2.0 * comm.rank
        link.N = comm.rank
    distributed.AllreducePersistent(model, comm)()
    mean = (comm.size - 1) / 2
    for link in (model.predictor.bn, model.predictor.seq[2]):
        numpy.testing.assert_allclose(link.avg_mean, mean)
        numpy.testing.assert_allclose(link.avg_var, 2 * mean)
        assert link.N == comm.rank  # integers are left alone
