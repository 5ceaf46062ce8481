"""Data-parallel training equals single-process training on the same global batches.

The tests marked ``mpi`` pass at any number of ranks: each rank also computes the
single-process reference itself (with the 'single' communicator) and compares.
"""
import os
import sys

import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import datasets, distributed, optimizers, serializers, training
from dchain.training import extensions

N_IN, N_HIDDEN, N_OUT = 6, 5, 3


class MLP(dchain.Chain):
    def __init__(self, hidden=N_HIDDEN, dtype=numpy.float64):
        super().__init__()
        init = dchain.initializers.LeCunNormal(dtype=dtype)
        with self.init_scope():
            self.l1 = L.Linear(N_IN, hidden, initialW=init,
                               initial_bias=dchain.initializers.Zero(dtype))
            self.l2 = L.Linear(hidden, N_OUT, initialW=init,
                               initial_bias=dchain.initializers.Zero(dtype))

    def forward(self, x):
        return self.l2(F.tanh(self.l1(x)))


def make_data(n, seed=0):
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((n, N_IN))
    t = rng.integers(0, N_OUT, n).astype(numpy.int32)
    return datasets.TupleDataset(x, t)


def make_model(seed=1):
    dchain.random.seed(seed)
    return L.Classifier(MLP())


def train_steps(comm, dataset, batch_size, steps, optimizer=None, seed=5):
    model = make_model()
    actual = optimizer or optimizers.Adam(alpha=0.01)
    opt = distributed.create_multi_node_optimizer(actual, comm).setup(model)
    iterator = distributed.ShardedIterator(dataset, batch_size, comm, seed=seed)
    for _ in range(steps):
        x, t = dchain.dataset.concat_examples(next(iterator))  # maybe 0 samples
        opt.update(model, x, t)
    return model


def params(model):
    return {path: p.data.copy() for path, p in model.namedparams()}


def assert_same_params(a, b, rtol=1e-9, atol=1e-12):
    assert a.keys() == b.keys()
    for key in a:
        numpy.testing.assert_allclose(a[key], b[key], rtol=rtol, atol=atol, err_msg=key)


def test_single_communicator_matches_plain_optimizer():
    dataset = make_data(20)
    distributed_model = train_steps(distributed.create_communicator('single'), dataset, 8, 6)
    model = make_model()
    opt = optimizers.Adam(alpha=0.01).setup(model)
    iterator = distributed.ShardedIterator(dataset, 8, distributed.create_communicator('single'),
                                           seed=5)
    for _ in range(6):
        x, t = dchain.dataset.concat_examples(next(iterator))
        opt.update(model, x, t)
    assert_same_params(params(distributed_model), params(model), rtol=0, atol=0)


@pytest.mark.mpi
@pytest.mark.parametrize('n,batch_size', [(24, 12), (25, 12), (7, 3)])
def test_ranks_reach_the_single_process_parameters(n, batch_size):
    """Uneven last batches (25 = 12 + 12 + 1: a rank may get no sample at all) included."""
    comm = distributed.create_communicator('mpi')
    dataset = make_data(n)
    steps = 3 * -(-n // batch_size) + 1
    model = train_steps(comm, dataset, batch_size, steps)
    reference = train_steps(distributed.create_communicator('single'), dataset, batch_size,
                            steps)
    # Tight enough to catch a missing division by the rank count or a short batch weighted
    # like a full one (those are off by tens of percent).
    assert_same_params(params(model), params(reference))
    everyone = comm.allgather_obj(params(model))
    for theirs in everyone:
        assert_same_params(theirs, everyone[0], rtol=0, atol=0)


@pytest.mark.mpi
def test_first_update_broadcasts_rank_0_parameters():
    comm = distributed.create_communicator('mpi')
    dchain.random.seed(comm.rank)  # every rank initializes differently
    model = L.Classifier(MLP())
    opt = distributed.create_multi_node_optimizer(optimizers.SGD(lr=0.0), comm).setup(model)
    x = numpy.ones((2, N_IN))
    t = numpy.zeros(2, numpy.int32)
    opt.update(model, x, t)
    everyone = comm.allgather_obj(params(model))
    for theirs in everyone:
        assert_same_params(theirs, everyone[0], rtol=0, atol=0)


@pytest.mark.mpi
def test_different_models_are_refused_on_every_rank():
    comm = distributed.create_communicator('mpi')
    if comm.size < 2:
        pytest.skip('needs 2 ranks to differ')
    model = L.Classifier(MLP(hidden=N_HIDDEN + (comm.rank == 1)))
    opt = distributed.create_multi_node_optimizer(optimizers.Adam(), comm).setup(model)
    with pytest.raises(ValueError, match=r'the ranks built different models.*parameter '
                                         r'/predictor/l1/W: rank 0 has shape \(5, 6\) dtype '
                                         r'float64, rank 1 has shape \(6, 6\)'):
        opt.update(model, numpy.ones((2, N_IN)), numpy.zeros(2, numpy.int32))
    comm.barrier()  # every rank got here: nobody hangs in a gradient exchange


@pytest.mark.mpi
def test_evaluator_weights_uneven_shards():
    comm = distributed.create_communicator('mpi')
    test = make_data(13, seed=3)
    model = make_model()
    evaluator = extensions.Evaluator(
        distributed.ShardedIterator(test, 5, comm, shuffle=False, repeat=False), model)
    result = distributed.create_multi_node_evaluator(evaluator, comm)()
    x, t = test._datasets
    with dchain.no_backprop_mode(), dchain.using_config('train', False):
        y = model.predictor(x)
        expected_loss = float(F.softmax_cross_entropy(y, t).data)
        expected_accuracy = float(F.accuracy(y, t).data)
    assert result['main/loss'] == pytest.approx(expected_loss, rel=1e-12)
    assert result['main/accuracy'] == pytest.approx(expected_accuracy, rel=1e-12)


class _OwnLoopEvaluator(extensions.Evaluator):
    """An Evaluator with its own evaluate() and no iterator, as Chainer programs write (a BLEU
    evaluator over its own data)."""

    def __init__(self, model, values):
        super().__init__({'main': None}, model)
        self.values = values
        self.calls = 0

    def evaluate(self):
        self.calls += 1
        observation = {}
        with dchain.reporter.report_scope(observation):
            dchain.report(self.values, self.get_target('main'))
        return observation


@pytest.mark.mpi
def test_evaluator_with_its_own_evaluate_is_averaged_over_ranks():
    comm = distributed.create_communicator('mpi')
    # the last rank alone reports 'extra'; 'score' is rank + 1 everywhere
    values = {'score': float(comm.rank + 1)}
    if comm.rank == comm.size - 1:
        values['extra'] = 7.0
    evaluator = _OwnLoopEvaluator(make_model(), values)
    evaluator.name = 'validation'
    evaluator = distributed.create_multi_node_evaluator(evaluator, comm)
    result = evaluator()
    assert evaluator.calls == 1
    assert result == {'validation/main/score': pytest.approx((comm.size + 1) / 2),
                      'validation/main/extra': 7.0}
    evaluator.finalize()  # no iterator to finalize: nothing fails


def make_trainer(comm, out, dataset, stop=8):
    model = make_model()
    opt = distributed.create_multi_node_optimizer(optimizers.Adam(alpha=0.01), comm)
    opt.setup(model)
    iterator = distributed.ShardedIterator(dataset, 6, comm, seed=2)
    updater = training.StandardUpdater(iterator, opt)
    trainer = training.Trainer(updater, (stop, 'iteration'), out=str(out))
    return trainer, model


@pytest.mark.mpi
def test_checkpoint_resumes_on_another_number_of_ranks(mpi_tmp_path):
    """Written by N ranks after 3 iterations, resumed by 1 (and the reverse)."""
    comm = distributed.create_communicator('mpi')
    single = distributed.create_communicator('single')
    dataset = make_data(16)
    reference, reference_model = make_trainer(single, mpi_tmp_path / 'ref{}'.format(comm.rank),
                                              dataset)
    reference.run()

    # N ranks write the snapshot at iteration 3 (rank 0 alone writes the file) ...
    trainer, _ = make_trainer(comm, mpi_tmp_path / 'multi', dataset, stop=3)
    if comm.rank == 0:
        trainer.extend(extensions.snapshot(filename='snapshot'), trigger=(3, 'iteration'))
    trainer.run()
    comm.barrier()
    # ... and one process resumes it.
    resumed, resumed_model = make_trainer(single, mpi_tmp_path / 'one{}'.format(comm.rank),
                                          dataset)
    serializers.load_npz(str(mpi_tmp_path / 'multi' / 'snapshot'), resumed)
    assert resumed.updater.iteration == 3
    resumed.run()
    assert_same_params(params(resumed_model), params(reference_model))

    # The reverse: one process writes (rank 0's copy), N ranks resume.
    one, _ = make_trainer(single, mpi_tmp_path / 'write{}'.format(comm.rank), dataset, stop=3)
    one.extend(extensions.snapshot(filename='snapshot'), trigger=(3, 'iteration'))
    one.run()
    comm.barrier()
    many, many_model = make_trainer(comm, mpi_tmp_path / 'many{}'.format(comm.rank), dataset)
    serializers.load_npz(str(mpi_tmp_path / 'write0' / 'snapshot'), many)
    many.run()
    assert_same_params(params(many_model), params(reference_model))


@pytest.mark.mpi
def test_mnist_example_under_mpi(mpi_tmp_path):
    """The example runs unchanged on every rank; only rank 0 writes; all ranks agree."""
    comm = distributed.create_communicator('mpi')
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'examples'))
    try:
        import mnist
    finally:
        sys.path.pop(0)
    out = mpi_tmp_path / 'mnist'
    accuracy = mnist.main(['--epoch', '1', '--unit', '50', '--batchsize', '100', '--out',
                           str(out)])
    assert len(set(comm.allgather_obj(accuracy))) == 1
    single = mnist.main(['--epoch', '1', '--unit', '50', '--batchsize', '100', '--out',
                         str(mpi_tmp_path / 'single{}'.format(comm.rank)), '--communicator',
                         'single'])
    assert accuracy > 0.7
    assert abs(accuracy - single) < 0.01  # the same band as one process
    comm.barrier()
    if comm.rank == 0:
        assert (out / 'log').is_file() and (out / 'model.npz').is_file()


@pytest.mark.mpi
def test_lazy_parameters_on_a_rank_without_samples_take_rank_0_shapes():
    comm = distributed.create_communicator('mpi')
    dchain.random.seed(comm.rank)
    model = L.Classifier(L.Linear(None, N_OUT))
    opt = distributed.create_multi_node_optimizer(optimizers.SGD(), comm).setup(model)
    n = 1 if comm.rank == 0 else 0  # only rank 0 sees a sample in the first step
    opt.update(model, numpy.ones((n, N_IN), numpy.float32), numpy.zeros(n, numpy.int32))
    assert model.predictor.W.shape == (N_OUT, N_IN)
    everyone = comm.allgather_obj(params(model))
    for theirs in everyone:
        assert_same_params(theirs, everyone[0], rtol=0, atol=0)


@pytest.mark.mpi
@pytest.mark.parametrize('bn', [False, True])
def test_mnist_example_snapshots_every_epoch_and_trains_to_the_end(bn, mpi_tmp_path):
    """Rank 0 alone snapshots after every epoch; training goes on (the crash of issue 11).
    With --bn the model's batch normalization is synchronized over the ranks."""
    comm = distributed.create_communicator('mpi')
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'examples'))
    try:
        import mnist
    finally:
        sys.path.pop(0)
    out = mpi_tmp_path / 'mnist_f1_{}'.format(bn)
    argv = ['--epoch', '2', '--unit', '20', '--batchsize', '100', '--frequency', '1',
            '--out', str(out)] + (['--bn'] if bn else [])
    accuracy = mnist.main(argv)
    assert len(set(comm.allgather_obj(accuracy))) == 1
    assert accuracy > 0.7
    comm.barrier()
    if comm.rank == 0:
        assert sorted(p.name for p in out.glob('snapshot_iter_*')) == ['snapshot_iter_40',
                                                                       'snapshot_iter_80']
