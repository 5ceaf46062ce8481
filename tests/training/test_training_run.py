"""A whole training run: Classifier(MLP), SerialIterator, Adam, the usual extensions, and a
run that stops, resumes in fresh objects and ends bitwise where an uninterrupted one does."""
import io
import json
import os

import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import iterators, optimizers, serializers, training
from dchain.datasets import TupleDataset
from dchain.training import extensions


class MLP(dchain.Chain):
    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(4, 8)
            self.l2 = L.Linear(8, 3)

    def forward(self, x):
        return self.l2(F.relu(self.l1(x)))


def _arrays(n, seed):
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(numpy.float32)
    # a learnable rule: the class is the index of the largest of the first three features
    t = x[:, :3].argmax(axis=1).astype(numpy.int32)
    return x, t


TRAIN_ARRAYS = _arrays(48, 0)
TEST_ARRAYS = _arrays(10, 1)  # 10 examples in batches of 4: 4, 4, 2
TRAIN = TupleDataset(*TRAIN_ARRAYS)
TEST = TupleDataset(*TEST_ARRAYS)


def _trainer(out, stop, snapshot_every=None, autoload=False, print_to=None, device=None):
    dchain.random.seed(0)
    model = L.Classifier(MLP())
    optimizer = optimizers.Adam(alpha=0.01).setup(model)
    train_iter = iterators.SerialIterator(TRAIN, 8, seed=2)
    test_iter = iterators.SerialIterator(TEST, 4, repeat=False, shuffle=False)
    updater = training.updaters.StandardUpdater(train_iter, optimizer, device=device)
    trainer = training.Trainer(updater, stop, out=str(out))
    trainer.extend(extensions.Evaluator(test_iter, model, device=device))
    trainer.extend(extensions.LogReport())
    trainer.extend(extensions.observe_lr())
    trainer.extend(extensions.ExponentialShift('alpha', 0.9), trigger=(1, 'epoch'))
    if print_to is not None:
        trainer.extend(extensions.PrintReport(
            ['epoch', 'main/loss', 'validation/main/loss', 'validation/main/accuracy'],
            out=print_to))
    if snapshot_every is not None:
        trainer.extend(extensions.snapshot(autoload=autoload, n_retains=2),
                       trigger=(snapshot_every, 'iteration'))
    return trainer


def _params(trainer):
    model = trainer.updater.get_optimizer('main').target
    return {path: dchain.backend.to_cpu(param.array).copy()
            for path, param in model.namedparams()}


def _without_time(log):
    return [{key: value for key, value in entry.items() if key != 'elapsed_time'}
            for entry in log]


def test_log_file_and_learning(tmp_path):
    out = io.StringIO()
    trainer = _trainer(tmp_path, (6, 'epoch'), print_to=out)
    trainer.run()
    log = json.loads((tmp_path / 'log').read_text())
    assert list(log[0]) == ['main/loss', 'main/accuracy', 'validation/main/loss',
                            'validation/main/accuracy', 'lr', 'epoch', 'iteration',
                            'elapsed_time']
    assert [(entry['epoch'], entry['iteration']) for entry in log] == [
        (epoch, 6 * epoch) for epoch in range(1, 7)]
    assert log[-1]['main/loss'] < log[0]['main/loss']
    assert log[-1]['validation/main/loss'] < log[0]['validation/main/loss']
    assert all(later > earlier for earlier, later in zip(
        [entry['elapsed_time'] for entry in log], [entry['elapsed_time'] for entry in log][1:]))
    assert len(out.getvalue().splitlines()) == 7  # header and one row per epoch
    assert trainer.updater.get_optimizer('main').alpha == pytest.approx(0.01 * 0.9 ** 6)


def test_evaluator_weights_the_short_last_batch(tmp_path):
    trainer = _trainer(tmp_path, (1, 'epoch'))
    trainer.run()
    entry = trainer.get_extension('LogReport').log[-1]
    model = trainer.updater.get_optimizer('main').target
    x, t = TEST_ARRAYS
    with dchain.using_config('train', False), dchain.no_backprop_mode():
        y = model.predictor(x)
        loss = float(F.softmax_cross_entropy(y, t).array)
        accuracy = float(F.accuracy(y, t).array)
    assert entry['validation/main/loss'] == pytest.approx(loss, rel=1e-5)
    assert entry['validation/main/accuracy'] == pytest.approx(accuracy, rel=1e-6)


@pytest.mark.parametrize('stop_at', [5, 12])
@pytest.mark.parametrize('how', ['load_npz', 'autoload'])
def test_resumed_run_matches_an_uninterrupted_one_bitwise(tmp_path, stop_at, how):
    total = 20  # iterations; 6 per epoch, so resumes fall mid-epoch and on a boundary
    reference = _trainer(tmp_path / 'reference', (total, 'iteration'))
    reference.run()

    first = _trainer(tmp_path / 'run', (stop_at, 'iteration'), snapshot_every=stop_at)
    first.run()
    snapshot = tmp_path / 'run' / 'snapshot_iter_{}'.format(stop_at)
    assert snapshot.is_file()

    dchain.random.seed(12345)  # a new process would start from some other state
    resumed = _trainer(tmp_path / 'run', (total, 'iteration'), snapshot_every=stop_at,
                       autoload=how == 'autoload')
    if how == 'load_npz':
        serializers.load_npz(str(snapshot), resumed)
        assert resumed.updater.iteration == stop_at
    resumed.run()
    assert resumed.updater.iteration == total
    expected, actual = _params(reference), _params(resumed)
    assert list(actual) == list(expected)
    for path in expected:
        numpy.testing.assert_array_equal(actual[path], expected[path], err_msg=path)
    reference_log = reference.get_extension('LogReport').log
    assert _without_time(resumed.get_extension('LogReport').log) == _without_time(reference_log)
    assert _without_time(json.loads((tmp_path / 'run' / 'log').read_text())) == \
        _without_time(reference_log)
    # the clock carries on from the snapshot's
    times = [entry['elapsed_time'] for entry in resumed.get_extension('LogReport').log]
    assert times == sorted(times)
    # n_retains=2 keeps the two newest snapshots
    snapshots = sorted(name for name in os.listdir(tmp_path / 'run') if name.startswith('snap'))
    taken = list(range(stop_at, total + 1, stop_at))
    assert snapshots == sorted('snapshot_iter_{}'.format(i) for i in taken[-2:])


def test_fail_on_nonnumber_stops_a_diverging_run(tmp_path):
    x, t = TRAIN_ARRAYS
    x = x.copy()
    x[5, 0] = numpy.nan
    dchain.random.seed(0)
    model = L.Classifier(MLP())
    optimizer = optimizers.Adam().setup(model)
    updater = training.updaters.StandardUpdater(
        iterators.SerialIterator(TupleDataset(x, t), 8, shuffle=False), optimizer)
    trainer = training.Trainer(updater, (3, 'epoch'), out=str(tmp_path))
    trainer.extend(extensions.FailOnNonNumber())
    with pytest.raises(RuntimeError, match=r"FailOnNonNumber: parameter /predictor/l\d/[Wb] of "
                                           r"optimizer 'main' holds NaN at iteration 1") as info:
        trainer.run(show_loop_exception_msg=False)
    assert "extension 'FailOnNonNumber'" in ''.join(info.value.__notes__)


def test_plot_report_writes_a_png(tmp_path):
    pytest.importorskip('matplotlib')
    trainer = _trainer(tmp_path, (2, 'epoch'))
    trainer.extend(extensions.PlotReport(['main/loss', 'validation/main/loss'], 'epoch',
                                         filename='loss.png'))
    trainer.run()
    assert (tmp_path / 'loss.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_training_and_resume_on_a_device(tmp_path, device):
    reference = _trainer(tmp_path / 'reference', (2, 'epoch'), device=device)
    reference.extend(extensions.FailOnNonNumber(raise_on_nonfinite=True))
    reference.run()
    model = reference.updater.get_optimizer('main').target
    assert all(dchain.get_array_module(param.array) is device.xp for param in model.params())
    log = reference.get_extension('LogReport').log
    assert log[-1]['main/loss'] < log[0]['main/loss']
    assert isinstance(log[-1]['validation/main/accuracy'], float)

    _trainer(tmp_path / 'run', (9, 'iteration'), snapshot_every=9, device=device).run()
    resumed = _trainer(tmp_path / 'run', (2, 'epoch'), snapshot_every=9, autoload=True,
                       device=device)
    resumed.run()
    expected, actual = _params(reference), _params(resumed)
    for path in expected:
        # the same kernels on the same data; GPU libraries may still pick other algorithms
        numpy.testing.assert_allclose(actual[path], expected[path], rtol=1e-6, atol=1e-7,
                                      err_msg=path)


def test_autoload_refuses_a_snapshot_of_another_model(tmp_path):
    _trainer(tmp_path, (3, 'iteration'), snapshot_every=3).run()
    changed = _trainer(tmp_path, (6, 'iteration'), snapshot_every=3, autoload=True)
    model = changed.updater.get_optimizer('main').target
    model.predictor.l1.W.array = numpy.zeros((9, 4), numpy.float32)   # a wider first layer
    with pytest.raises(ValueError, match=r"snapshot: .*snapshot_iter_3 does not fit what it "
                                         r"is loaded into: .*'updater/model:main/predictor/l1/W'"
                                         r" has shape \(8, 4\), but the array it loads into "
                                         r"has shape \(9, 4\)"):
        changed.run(show_loop_exception_msg=False)
    assert changed.updater.iteration == 0
    assert (tmp_path / 'snapshot_iter_3').is_file()   # kept for the right script
