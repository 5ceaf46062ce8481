import io

import pytest

from dchain.training import Trainer
from dchain.training.extensions import LogReport, PrintReport

from .._fakes import FakeUpdater


def _run(tmp_path, entries, log_report='LogReport', register=True, stop=(4, 'iteration')):
    out = io.StringIO()
    trainer = Trainer(FakeUpdater(2, lambda i: 0.25 * i), stop, out=str(tmp_path))
    if register:
        trainer.extend(LogReport(trigger=(1, 'epoch')))
    trainer.extend(PrintReport(entries, log_report=log_report, out=out))
    trainer.run()
    return out.getvalue()


def test_columns_like_chainer(tmp_path):
    text = _run(tmp_path, ['epoch', 'iteration', 'main/loss', 'validation/main/loss'])
    assert text.splitlines() == [
        'epoch       iteration   main/loss   validation/main/loss',
        '1' + ' ' * 11 + '2' + ' ' * 11 + '0.375' + ' ' * 7 + ' ' * 22,
        '2' + ' ' * 11 + '4' + ' ' * 11 + '0.875' + ' ' * 7 + ' ' * 22,
    ]


def test_log_report_object_not_registered(tmp_path):
    log_report = LogReport(trigger=(2, 'iteration'), filename=None, log_name=None)
    text = _run(tmp_path, ['iteration', 'main/child/inner'], log_report=log_report,
                register=False)
    # 'main/child/inner' is 16 wide
    assert text.splitlines()[1:] == ['2' + ' ' * 11 + '0.75' + ' ' * 14,
                                     '4' + ' ' * 11 + '1.75' + ' ' * 14]


def test_non_numbers_printed_as_text(tmp_path):
    log_report = LogReport(trigger=(2, 'iteration'), filename=None, log_name=None,
                           postprocess=lambda entry: entry.update(note='ok'))
    text = _run(tmp_path, ['note'], log_report=log_report, register=False,
                stop=(2, 'iteration'))
    assert text.splitlines()[1] == 'ok          '


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="PrintReport: entries must be a list of keys, got the "
                                        "str 'epoch'"):
        PrintReport('epoch')
    with pytest.raises(TypeError, match='PrintReport: log_report must be a LogReport or the name '
                                        'of one, got int'):
        _run(tmp_path, ['epoch'], log_report=3, register=False)
