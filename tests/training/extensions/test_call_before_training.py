"""Extensions registered with ``call_before_training=True`` give Chainer's epoch-0 entry: what
is observed before the first update is logged, plotted and printed on its own, never averaged
into the first epoch."""
import io
import json

import pytest

from dchain import reporter, serializers
from dchain.training import Trainer, make_extension
from dchain.training.extensions import LogReport, PlotReport, PrintReport

from .._fakes import FakeUpdater


def _trainer(tmp_path, before=True, stop=(2, 'epoch')):
    """Losses 1, 2, 3, 4 over two epochs of 2 iterations; a fake evaluator reports a
    validation loss of 100 before training and 10 * epoch at each epoch's end."""
    trainer = Trainer(FakeUpdater(2), stop, out=str(tmp_path))

    @make_extension(trigger=(1, 'epoch'), priority=300)
    def evaluate(trainer):
        value = 100.0 if trainer.is_before_training else 10.0 * trainer.updater.epoch
        reporter.report({'validation/main/loss': value})

    trainer.extend(evaluate, call_before_training=before)
    return trainer


@pytest.mark.parametrize('before', [True, False])
def test_log_report_writes_an_epoch_zero_entry(tmp_path, before):
    trainer = _trainer(tmp_path, before)
    log_report = LogReport()
    trainer.extend(log_report, call_before_training=before)
    trainer.run()
    log = json.loads((tmp_path / 'log').read_text())
    rows = [(e['epoch'], e['iteration'], e.get('main/loss'), e['validation/main/loss'])
            for e in log]
    expected = [(1, 2, 1.5, 10.0), (2, 4, 3.5, 20.0)]
    if before:
        expected.insert(0, (0, 0, None, 100.0))
    assert rows == expected
    assert log_report.log == log


def test_log_report_before_training_only_when_asked(tmp_path):
    # the evaluator runs before training, the LogReport does not: it never sees that score
    trainer = _trainer(tmp_path)
    trainer.extend(LogReport())
    trainer.run()
    log = json.loads((tmp_path / 'log').read_text())
    assert [e['epoch'] for e in log] == [1, 2]
    assert [e['validation/main/loss'] for e in log] == [10.0, 20.0]


def test_plot_report_plots_the_epoch_zero_point(tmp_path):
    pytest.importorskip('matplotlib')
    trainer = _trainer(tmp_path)
    plot = PlotReport(['main/loss', 'validation/main/loss'], 'epoch', file_name='loss.png')
    trainer.extend(plot, call_before_training=True)
    trainer.run()
    assert plot._data['validation/main/loss'] == [(0, 100.0), (1, 10.0), (2, 20.0)]
    assert plot._data['main/loss'] == [(1, 1.5), (2, 3.5)]
    assert (tmp_path / 'loss.png').exists()


def test_print_report_prints_the_epoch_zero_row(tmp_path):
    trainer = _trainer(tmp_path)
    out = io.StringIO()
    trainer.extend(LogReport(), call_before_training=True)
    trainer.extend(PrintReport(['epoch', 'main/loss', 'validation/main/loss'], out=out),
                   call_before_training=True)
    trainer.run()
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ['epoch', 'main/loss', 'validation/main/loss']
    assert [line.split() for line in lines[1:]] == [
        ['0', '100'], ['1', '1.5', '10'], ['2', '3.5', '20']]


def test_a_resumed_run_does_not_call_them_again(tmp_path):
    first = _trainer(tmp_path, stop=(1, 'epoch'))
    first.extend(LogReport(), call_before_training=True)
    first.run()
    path = str(tmp_path / 'snapshot.npz')
    serializers.save_npz(path, first)
    resumed = _trainer(tmp_path)
    log_report = LogReport()
    resumed.extend(log_report, call_before_training=True)
    serializers.load_npz(path, resumed)
    resumed.run()
    # the epoch-0 and epoch-1 entries come from the snapshot; epoch 2's validation loss is
    # the evaluation at its end alone, not averaged with another untrained-style score of 100
    assert [(e['epoch'], e['validation/main/loss']) for e in log_report.log] == [
        (0, 100.0), (1, 10.0), (2, 20.0)]
