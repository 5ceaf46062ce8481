"""The multi-node optimizer runs the plain optimizer's update path: on one rank ('single' or
'mpi') it gives bitwise the plain optimizer's parameters, BN statistics and optimizer state."""
import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import config, distributed, optimizers
from dchain.distributed.step_flags import StepFlags

OPTIMIZERS = {'SGD': lambda: optimizers.SGD(lr=0.1),
              'MomentumSGD': lambda: optimizers.MomentumSGD(lr=0.05),
              'Adam': lambda: optimizers.Adam(alpha=0.01)}


class LazyBNNet(dchain.Chain):
    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(None, 7)
            self.bn = L.BatchNormalization(None)
            self.l2 = L.Linear(None, 3)

    def forward(self, x):
        return self.l2(F.relu(self.bn(self.l1(x))))


def one_rank(kind):
    if kind == 'single':
        return distributed.create_communicator('single')
    mpi4py = pytest.importorskip('mpi4py')
    from mpi4py import MPI
    assert mpi4py
    return distributed.create_communicator('mpi', mpi_comm=MPI.COMM_SELF)


def train(wrap, name, loss_scale, steps=4):
    dchain.random.seed(3)
    model = L.Classifier(LazyBNNet())
    opt = OPTIMIZERS[name]()
    opt.setup(model)
    if wrap is not None:
        opt = distributed.create_multi_node_optimizer(opt, wrap).setup(model)
    if loss_scale is not None:
        opt.set_loss_scale(loss_scale)
    rng = numpy.random.default_rng(0)
    for _ in range(steps):
        x = rng.standard_normal((10, 5)).astype(numpy.float32)
        t = rng.integers(0, 3, 10).astype(numpy.int32)
        opt.update(model, x, t)
    return model, opt


def state(model, opt):
    values = {path: p.data.copy() for path, p in model.namedparams()}
    values['bn/avg_mean'] = model.predictor.bn.avg_mean.copy()
    values['bn/avg_var'] = model.predictor.bn.avg_var.copy()
    for path, p in model.namedparams():
        values[path + '/t'] = p.update_rule.t
        for key, array in p.update_rule.state.items():
            values[path + '/' + key] = array.copy()
    values['t'] = opt.t
    return values


@pytest.mark.parametrize('kind', ['single', 'mpi-1-rank'])
@pytest.mark.parametrize('name', sorted(OPTIMIZERS))
@pytest.mark.parametrize('loss_scale', [None, 128.0])
def test_one_rank_is_bitwise_the_plain_optimizer(kind, name, loss_scale):
    expected = state(*train(None, name, loss_scale))
    got = state(*train(one_rank(kind), name, loss_scale))
    assert got.keys() == expected.keys()
    for key in expected:
        numpy.testing.assert_array_equal(got[key], expected[key], err_msg=key)


@pytest.mark.parametrize('kind', ['single', 'mpi-1-rank'])
def test_loss_scale_is_the_initial_gradient(kind):
    model = L.Classifier(L.Linear(4, 2))
    opt = distributed.create_multi_node_optimizer(optimizers.SGD(), one_rank(kind)).setup(model)
    opt.set_loss_scale(64.0)
    losses = []

    def lossfun(x, t):
        loss = model(x, t)
        losses.append(loss)
        return loss
    opt.update(lossfun, numpy.ones((3, 4), numpy.float32), numpy.zeros(3, numpy.int32))
    assert float(losses[0].grad) == 64.0


def test_every_attribute_of_the_actual_optimizer_goes_through():
    actual = optimizers.Adam()
    opt = distributed.create_multi_node_optimizer(actual, distributed.create_communicator(
        'single'))
    opt.gamma = 0.5
    opt.final_lr = 0.2
    opt.alpha = 0.003
    opt.my_extension_value = 'x'
    assert actual.gamma == 0.5 and actual.hyperparam.final_lr == 0.2
    assert actual.alpha == 0.003 and actual.my_extension_value == 'x'
    actual.eta = 0.7
    assert opt.eta == 0.7 and opt.adabound is False
    assert opt.communicator.size == 1 and opt.actual_optimizer is actual
    with pytest.raises(AttributeError):
        opt.no_such_attribute


def test_only_gradient_methods_are_wrapped():
    with pytest.raises(TypeError, match='actual_optimizer must be a dchain GradientMethod'):
        distributed.create_multi_node_optimizer(object(), distributed.create_communicator(
            'single'))


def test_the_allreduce_runs_on_the_fused_flat_gradient_buffer():
    model = L.Classifier(L.Linear(4, 2))
    opt = distributed.create_multi_node_optimizer(optimizers.Adam(), one_rank('mpi-1-rank'))
    opt.setup(model)
    opt.update(model, numpy.ones((3, 4), numpy.float32), numpy.zeros(3, numpy.int32))
    flat = opt.actual_optimizer.fused_parameters()
    assert flat is not None and flat.grads_bound()
    assert opt._buffer is None  # no second gradient buffer


@pytest.mark.mpi
def test_first_step_runs_the_training_forward_once():
    """The forward that sizes lazy links before the broadcast has no side effects: the
    loss function runs once in training mode, and the reporter sees the batch once."""
    comm = distributed.create_communicator('mpi')
    model = L.Classifier(LazyBNNet())
    opt = distributed.create_multi_node_optimizer(optimizers.SGD(), comm).setup(model)
    calls = []

    def lossfun(x, t):
        calls.append(config.train)
        return model(x, t)
    observation = {}
    reporter = dchain.reporter.Reporter()
    reporter.add_observer('main', model)
    with reporter.scope(observation):
        x = numpy.ones((4, 5), numpy.float32) * (comm.rank + 1)
        opt.update(lossfun, x, numpy.zeros(4, numpy.int32))
    assert calls.count(True) == 1
    assert 'main/loss' in observation
    # The BN statistics saw this rank's batch exactly once (x is constant: the batch
    # variance is 0, and the mean moved by (1 - decay) from 0).
    bn = model.predictor.bn
    h = model.predictor.l1(x).array
    numpy.testing.assert_allclose(bn.avg_mean, 0.1 * h.mean(axis=0), rtol=1e-5, atol=1e-7)


def test_step_flags():
    flags = StepFlags()
    comm = distributed.create_communicator('single')
    assert flags.register('mine') == len(flags.names) - 1
    assert flags.register('mine') == len(flags.names) - 1
    flags.set('stop')
    flags.set('mine', 5)
    assert flags.local('stop') == 1 and not flags.any('stop')
    flags.exchange(comm)
    assert flags.any('stop') and flags.all('stop') and flags.total('mine') == 5
    assert flags.local('stop') == 0
    flags.exchange(comm)
    assert not flags.any('stop')
    with pytest.raises(KeyError, match="no flag named 'other'"):
        flags.set('other')
