"""The ranks' optimizers stay alike: a hyperparameter changed on some ranks only (an
ExponentialShift registered on rank 0 alone), another optimizer or loss scale on one rank, is
caught at the next update on every rank, with what differs, before the parameters drift."""
import re

import numpy
import pytest

import dchain.links as L
from dchain import distributed, optimizers, training
from dchain.datasets import TupleDataset
from dchain.distributed import optimizer_agreement
from dchain.distributed.agreement import CollectiveMismatchError
from dchain.optimizer_hooks import WeightDecay
from dchain.training import extensions


def test_the_step_tag_follows_the_configuration():
    opt = optimizers.MomentumSGD(lr=0.1)
    tag = optimizer_agreement.step_tag(opt)
    opt.lr = numpy.float64(0.1)            # the same value as another type: the same tag
    assert optimizer_agreement.step_tag(opt) == tag
    opt.lr = 0.09
    assert optimizer_agreement.step_tag(opt) != tag
    opt.lr = 0.1
    opt.set_loss_scale(8.0)
    assert optimizer_agreement.step_tag(opt) != tag
    opt.t = 1
    assert optimizer_agreement.step_tag(opt) >> 24 == 1


def _data(comm):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((12, 3)).astype(numpy.float32)
    t = rng.integers(0, 2, 12).astype(numpy.int32)
    return x, t


def _comm_of_two_or_more():
    comm = distributed.create_communicator('mpi')
    if comm.size < 2:
        pytest.skip('needs 2 ranks')
    return comm


@pytest.mark.mpi
def test_a_learning_rate_schedule_on_rank_0_alone_is_caught():
    comm = _comm_of_two_or_more()
    x, t = _data(comm)
    model = L.Classifier(L.Linear(3, 2))
    opt = distributed.create_multi_node_optimizer(optimizers.MomentumSGD(lr=0.1), comm)
    opt.setup(model)
    iterator = distributed.ShardedIterator(TupleDataset(x, t), 4, comm, seed=0)
    trainer = training.Trainer(training.StandardUpdater(iterator, opt), (6, 'iteration'))
    if comm.rank == 0:
        trainer.extend(extensions.ExponentialShift('lr', 0.5), trigger=(2, 'iteration'))
    with pytest.raises(CollectiveMismatchError) as caught:
        trainer.run(show_loop_exception_msg=False)
    message = str(caught.value)
    assert "MultiNodeOptimizer.update #3: the ranks' optimizers differ (lr: rank 0 has 0.05, " \
           "rank 1 has 0.1" in message
    assert 'on every rank, not only on rank 0' in message
    # caught before the third update: the parameters are still the same on every rank
    everyone = comm.allgather_obj(model.predictor.W.array)
    for theirs in everyone:
        numpy.testing.assert_array_equal(theirs, everyone[0])


@pytest.mark.mpi
def test_another_loss_scale_on_one_rank_is_caught():
    comm = _comm_of_two_or_more()
    x, t = _data(comm)
    model = L.Classifier(L.Linear(3, 2))
    actual = optimizers.SGD()
    if comm.rank == 1:
        actual.set_loss_scale(128.0)
    opt = distributed.create_multi_node_optimizer(actual, comm).setup(model)
    expected = 'loss scale: rank 0 has None, rank 1 has 128.0'
    with pytest.raises(CollectiveMismatchError, match=expected):
        opt.update(model, x[:4], t[:4])


@pytest.mark.mpi
def test_a_hyperparameter_changed_on_every_rank_is_fine():
    comm = distributed.create_communicator('mpi')
    x, t = _data(comm)
    model = L.Classifier(L.Linear(3, 2))
    opt = distributed.create_multi_node_optimizer(optimizers.Adam(), comm).setup(model)
    for step in range(3):
        opt.alpha = 0.01 / (step + 1)
        opt.update(model, x[:4], t[:4])
    assert opt.t == 3


@pytest.mark.mpi
def test_an_iterator_built_on_rank_0_alone_meets_another_object_collective():
    """Rank 0 builds an evaluation iterator (its construction check gathers objects) while
    the others go on to another object collective: a clear mismatch, not one's pickles read
    as the other's (an AttributeError deep inside the check)."""
    comm = _comm_of_two_or_more()
    with pytest.raises(CollectiveMismatchError) as caught:
        if comm.rank == 0:
            distributed.ShardedIterator(list(range(10)), 2, comm, repeat=False)
        else:
            comm.allgather_obj({'something': 1})
    message = str(caught.value)
    assert 'allgather_obj #' in message
    assert 'rank 0 passes tag 1 (a check that every rank passed the same arguments ' \
           '(check_same))' in message
    assert "tag 0 (the program's own)" in message


@pytest.mark.mpi
def test_other_micro_batches_on_one_rank_are_caught():
    comm = _comm_of_two_or_more()
    x, t = _data(comm)
    model = L.Classifier(L.Linear(3, 2))
    opt = distributed.create_multi_node_optimizer(
        optimizers.SGD(), comm, micro_batches=2 if comm.rank == 1 else 1).setup(model)
    with pytest.raises(CollectiveMismatchError, match='micro_batches: rank 0 has 1, rank 1 '
                                                      'has 2'):
        opt.update(model, x[:4], t[:4])


@pytest.mark.mpi
@pytest.mark.parametrize('shard', [False, True])
def test_a_parameter_frozen_on_one_rank_is_caught(shard):
    # e.g. disable_update() in an extension that runs on rank 0 alone: that rank would leave
    # the parameter behind, and the sharded optimizer's slices would not line up
    comm = _comm_of_two_or_more()
    x, t = _data(comm)
    model = L.Classifier(L.Linear(3, 2))
    opt = distributed.create_multi_node_optimizer(
        optimizers.Adam(), comm, shard_optimizer_state=shard).setup(model)
    opt.update(model, x[:4], t[:4])
    if comm.rank == 0:
        model.predictor.b.update_rule.enabled = False
    with pytest.raises(CollectiveMismatchError, match=re.escape(
            "MultiNodeOptimizer.update #2: the ranks' optimizers differ (parameters not "
            "updated: rank 0 has ('/predictor/b',), rank 1 has ()")):  # (, rank 2 has () ...)
        opt.update(model, x[:4], t[:4])


def _rank_local_change(what, model, opt):
    if what == 'hook':
        opt.add_hook(WeightDecay(1e-3))
    elif what == 'rule hyperparameter':
        model.predictor.W.update_rule.hyperparam.lr = 0.5
    else:
        model.predictor.W.update_rule.add_hook(WeightDecay(1e-3))


@pytest.mark.mpi
@pytest.mark.parametrize('what,expected', [
    ('hook', "hooks: rank 0 has ('WeightDecay',), rank 1 has None"),
    ('rule hyperparameter', "update rules set apart: rank 0 has (('/predictor/W', (('lr', 0.5),)"
                            ", ()),), rank 1 has None"),
    ('rule hook', "update rules set apart: rank 0 has (('/predictor/W', (), "
                  "('WeightDecay',)),), rank 1 has None")])
def test_a_hook_or_rule_setting_on_one_rank_is_caught(what, expected):
    comm = _comm_of_two_or_more()
    x, t = _data(comm)
    model = L.Classifier(L.Linear(3, 2))
    opt = distributed.create_multi_node_optimizer(optimizers.SGD(lr=0.1), comm).setup(model)
    if comm.rank == 0:
        _rank_local_change(what, model, opt)
    with pytest.raises(CollectiveMismatchError, match=re.escape(expected)):
        opt.update(model, x[:4], t[:4])


@pytest.mark.parametrize('what', ['frozen', 'hook', 'rule hyperparameter', 'rule hook'])
def test_the_step_tag_follows_the_hooks_and_the_rules(what):
    model = L.Classifier(L.Linear(3, 2))
    opt = optimizers.SGD().setup(model)
    tag = optimizer_agreement.step_tag(opt)
    if what == 'frozen':
        model.predictor.disable_update()
    else:
        _rank_local_change(what, model, opt)
    assert optimizer_agreement.step_tag(opt) != tag
    if what == 'frozen':
        model.predictor.enable_update()
        assert optimizer_agreement.step_tag(opt) == tag
