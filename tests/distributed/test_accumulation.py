"""Gradient accumulation: k micro-batches give the update of the whole batch (to 1e-5),
weighted by samples, with uneven micro-batches and shards; on plain and multi-node optimizers,
from StandardUpdater and from custom loops. MPI tests pass at any number of ranks."""
import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import datasets, distributed, optimizers, training

OPTIMIZERS = {'SGD': lambda: optimizers.SGD(lr=0.5),
              'MomentumSGD': lambda: optimizers.MomentumSGD(lr=0.2),
              'Adam': lambda: optimizers.Adam(alpha=0.05)}


class Net(dchain.Chain):
    def __init__(self, lazy=False):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(None if lazy else 5, 4)
            self.l2 = L.Linear(4, 3)

    def forward(self, x):
        return self.l2(F.tanh(self.l1(x)))


def make_model(lazy=False):
    dchain.random.seed(3)
    return L.Classifier(Net(lazy))


def make_data(n=23):
    rng = numpy.random.default_rng(0)
    return (rng.standard_normal((n, 5)).astype(numpy.float32),
            rng.integers(0, 3, n).astype(numpy.int32))


def weights(model):
    return {path: p.data.copy() for path, p in model.namedparams()}


def assert_close(a, b):
    assert a.keys() == b.keys()
    for key in a:
        numpy.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)


def reference(name, batches, lazy=False):
    """One process, one plain update per batch."""
    model = make_model(lazy)
    optimizer = OPTIMIZERS[name]().setup(model)
    for x, t in batches:
        optimizer.update(model, x, t)
    return weights(model)


def global_batches(x, t, batch, steps):
    return [(x[i * batch:(i + 1) * batch], t[i * batch:(i + 1) * batch]) for i in range(steps)]


@pytest.mark.parametrize('name', sorted(OPTIMIZERS))
@pytest.mark.parametrize('k', [2, 3, 8])
def test_micro_batches_equal_the_whole_batch_on_a_plain_optimizer(name, k):
    x, t = make_data()
    batches = global_batches(x, t, 7, 3)  # 7 samples in k parts: uneven, some empty at 8
    model = make_model()
    optimizer = OPTIMIZERS[name]().setup(model)
    optimizer.micro_batches = k
    for xb, tb in batches:
        optimizer.update(model, xb, tb)
    assert optimizer.t == 3
    assert_close(weights(model), reference(name, batches))


def test_no_sync_in_a_custom_loop_equals_the_concatenated_batch():
    x, t = make_data()
    model = make_model()
    optimizer = optimizers.Adam(alpha=0.05).setup(model)
    with optimizer.no_sync():
        optimizer.update(model, x[:3], t[:3])
        optimizer.update(model, x[3:4], t[3:4])
        assert optimizer.t == 0 and model.predictor.l1.W.grad is not None
    optimizer.update(model, x[4:10], t[4:10])
    assert_close(weights(model), reference('Adam', [(x[:10], t[:10])]))


def test_bad_use_is_refused():
    model = make_model()
    optimizer = optimizers.SGD().setup(model)
    optimizer.micro_batches = 0
    with pytest.raises(ValueError, match='micro_batches must be a positive int'):
        optimizer.update(model, *make_data(4))
    optimizer.micro_batches = 1
    with pytest.raises(ValueError, match='inside no_sync .* pass the loss function'):
        with optimizer.no_sync():
            optimizer.update()
    with pytest.raises(ValueError, match='backward_passes_per_step must be a positive int'):
        distributed.create_multi_node_optimizer(optimizers.SGD(), None,
                                                backward_passes_per_step=0)


def sharded_steps(comm, optimizer, model, batch, steps, x, t, calls_per_step=1):
    iterator = distributed.ShardedIterator(datasets.TupleDataset(x, t), batch, comm,
                                           shuffle=False)
    for _ in range(steps * calls_per_step):
        optimizer.update(model, *dchain.dataset.concat_examples(next(iterator)))


@pytest.mark.parametrize('mpi', [False, pytest.param(True, marks=pytest.mark.mpi)])
@pytest.mark.parametrize('name', sorted(OPTIMIZERS))
@pytest.mark.parametrize('lazy', [False, True])
def test_multi_node_micro_batches_equal_one_process_whole_batches(mpi, name, lazy):
    comm = distributed.create_communicator('mpi' if mpi else 'single')
    x, t = make_data()
    model = make_model(lazy)
    optimizer = distributed.create_multi_node_optimizer(OPTIMIZERS[name](), comm,
                                                        micro_batches=3).setup(model)
    sharded_steps(comm, optimizer, model, 7, 3, x, t)  # 7 = uneven shards at 2, 3, 4 ranks
    assert_close(weights(model), reference(name, global_batches(x, t, 7, 3), lazy))
    everyone = comm.allgather_obj(weights(model))
    for theirs in everyone:
        assert_close(theirs, everyone[0])


@pytest.mark.parametrize('mpi', [False, pytest.param(True, marks=pytest.mark.mpi)])
def test_backward_passes_per_step_sums_consecutive_batches(mpi):
    comm = distributed.create_communicator('mpi' if mpi else 'single')
    x, t = make_data(24)
    model = make_model()
    optimizer = distributed.create_multi_node_optimizer(
        optimizers.MomentumSGD(lr=0.2), comm, backward_passes_per_step=2).setup(model)
    sharded_steps(comm, optimizer, model, 5, 2, x, t, calls_per_step=2)
    assert optimizer.t == 2
    # each step is two consecutive global batches of 5
    assert_close(weights(model), reference('MomentumSGD', global_batches(x, t, 10, 2)))


@pytest.mark.parametrize('mpi', [False, pytest.param(True, marks=pytest.mark.mpi)])
def test_standard_updater_with_micro_batches_matches_without(mpi, tmp_path):
    comm = distributed.create_communicator('mpi' if mpi else 'single')
    x, t = make_data()
    results = {}
    for k in (1, 4):
        model = make_model()
        optimizer = distributed.create_multi_node_optimizer(optimizers.Adam(alpha=0.05), comm,
                                                            micro_batches=k).setup(model)
        iterator = distributed.ShardedIterator(datasets.TupleDataset(x, t), 9, comm, seed=1)
        trainer = training.Trainer(training.StandardUpdater(iterator, optimizer),
                                   (5, 'iteration'), out=str(tmp_path / str(k)))
        trainer.run()
        assert optimizer.t == 5
        results[k] = weights(model)
    assert_close(results[4], results[1])


def test_what_micro_batches_report_is_the_whole_batch_s_mean():
    x, t = make_data(10)
    model = make_model()
    optimizer = optimizers.SGD(lr=0.0).setup(model)  # the parameters stay as they are
    optimizer.micro_batches = 3                       # parts of 3, 3 and 4 samples
    observation = {}
    reporter = dchain.reporter.Reporter()
    reporter.add_observer('main', model)
    with reporter.scope(observation):
        optimizer.update(model, x, t)
    whole = {}
    with reporter.scope(whole):
        model(x, t)
    for key in ('main/loss', 'main/accuracy'):
        expected = float(getattr(whole[key], 'array', whole[key]))
        assert float(observation[key]) == pytest.approx(expected, rel=1e-6)


def test_backward_passes_position_is_saved_and_a_save_between_steps_warns(tmp_path):
    """A snapshot between the backward passes of a step cannot hold the other ranks' pending
    gradients: saving it warns, and the resumed run still takes its steps at the same updates
    as the uninterrupted one."""
    import warnings
    from dchain import serializers
    x, t = make_data()
    comm = distributed.create_communicator('single')

    def optimizer():
        model = make_model()
        return model, distributed.create_multi_node_optimizer(
            optimizers.SGD(lr=0.5), comm, backward_passes_per_step=3).setup(model)

    model, opt = optimizer()
    for i in range(4):           # one step (3 passes) and one pass of the next
        opt.update(model, x[i * 4:(i + 1) * 4], t[i * 4:(i + 1) * 4])
    with pytest.warns(UserWarning, match='saved after 1 of the 3 backward passes'):
        serializers.save_npz(str(tmp_path / 'mid.npz'), opt)
    model2, opt2 = optimizer()
    serializers.load_npz(str(tmp_path / 'mid.npz'), opt2)
    assert opt2._passes == 1 and opt2.t == 1
    for i in range(2):           # the 2 passes left complete the step
        opt2.update(model2, x[i * 4:(i + 1) * 4], t[i * 4:(i + 1) * 4])
    assert opt2.t == 2
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        model3, opt3 = optimizer()
        for i in range(3):
            opt3.update(model3, x[i * 4:(i + 1) * 4], t[i * 4:(i + 1) * 4])
        serializers.save_npz(str(tmp_path / 'boundary.npz'), opt3)  # no warning
    # a file without the position (saved without backward_passes_per_step) loads as 0
    plain_model = make_model()
    plain = distributed.create_multi_node_optimizer(optimizers.SGD(lr=0.5), comm)
    plain.setup(plain_model)
    plain.update(plain_model, x[:4], t[:4])
    serializers.save_npz(str(tmp_path / 'plain.npz'), plain)
    model4, opt4 = optimizer()
    serializers.load_npz(str(tmp_path / 'plain.npz'), opt4)
    assert opt4._passes == 0


@pytest.mark.parametrize('mpi', [False, pytest.param(True, marks=pytest.mark.mpi)])
@pytest.mark.parametrize('shard', [False, True])
def test_lazy_links_when_the_first_micro_batch_is_empty_on_every_rank(mpi, shard):
    """Batches of one sample in 2 micro-batches: the first micro-batch is empty everywhere,
    so the lazy links are sized (and rank 0's values broadcast) at the second. Each rank
    draws other initial values here; ranks that sized them alone used their own values (a
    rank that never had a sample sent a gradient buffer without them)."""
    comm = distributed.create_communicator('mpi' if mpi else 'single')
    x, t = make_data(5)
    model = make_model(lazy=True)
    dchain.random.seed(comm.rank)
    optimizer = distributed.create_multi_node_optimizer(
        optimizers.MomentumSGD(lr=0.2), comm, micro_batches=2,
        shard_optimizer_state=shard).setup(model)
    sharded_steps(comm, optimizer, model, 1, 4, x, t)
    assert optimizer.t == 4
    expected_model = make_model(lazy=True)
    dchain.random.seed(0)
    expected = optimizers.MomentumSGD(lr=0.2).setup(expected_model)
    for xb, tb in global_batches(x, t, 1, 4):
        expected.update(expected_model, xb, tb)
    assert_close(weights(model), weights(expected_model))
