import io
import json
import os

import pytest

from dchain.training import Trainer
from dchain.training.extensions import LogReport
from dchain.training.extensions import log_report as log_report_module

from .._fakes import DictDeserializer, DictSerializer, FakeUpdater


def _run(tmp_path, log_report, stop=(6, 'iteration'), iters_per_epoch=3, loss_of=float):
    trainer = Trainer(FakeUpdater(iters_per_epoch, loss_of), stop, out=str(tmp_path))
    trainer.extend(log_report)
    trainer.run()
    return trainer


def test_file_is_chainers_json_list(tmp_path):
    log_report = LogReport()
    trainer = _run(tmp_path, log_report)
    text = (tmp_path / 'log').read_text()
    log = json.loads(text)
    # losses 1..6: epoch means (1+2+3)/3 and (4+5+6)/3; inner is twice the loss
    assert [list(entry) for entry in log] == [
        ['main/loss', 'main/child/inner', 'epoch', 'iteration', 'elapsed_time']] * 2
    assert [(e['main/loss'], e['main/child/inner'], e['epoch'], e['iteration'])
            for e in log] == [(2.0, 4.0, 1, 3), (5.0, 10.0, 2, 6)]
    assert 0 <= log[0]['elapsed_time'] <= log[1]['elapsed_time'] <= trainer.elapsed_time
    assert text == json.dumps(log, indent=4)
    assert log_report.log == log
    assert os.listdir(tmp_path) == ['log']  # no temporary left behind


def test_keys_trigger_postprocess_and_filename(tmp_path):
    def postprocess(entry):
        entry['doubled'] = 2 * entry['main/loss']
        entry['nested'] = [1, {'a': [2, 3]}, 'text\nwith a newline']
    log_report = LogReport(keys=['main/loss'], trigger=(2, 'iteration'), postprocess=postprocess,
                           filename='log_{iteration}')
    _run(tmp_path, log_report, stop=(4, 'iteration'))
    assert sorted(os.listdir(tmp_path)) == ['log_2', 'log_4']
    log = json.loads((tmp_path / 'log_4').read_text())
    assert [(e['main/loss'], e['doubled'], e['iteration']) for e in log] == [
        (1.5, 3.0, 2), (3.5, 7.0, 4)]
    assert 'main/child/inner' not in log[0]
    assert (tmp_path / 'log_4').read_text() == json.dumps(log, indent=4)


def test_no_file_when_filename_is_none(tmp_path):
    log_report = LogReport(trigger=(1, 'iteration'), filename=None, log_name=None)
    _run(tmp_path, log_report, stop=(2, 'iteration'))
    assert os.listdir(tmp_path) == []
    assert [e['main/loss'] for e in log_report.log] == [1.0, 2.0]


@pytest.mark.parametrize('append', [False, True])
def test_json_lines(tmp_path, append):
    log_report = LogReport(trigger=(1, 'iteration'), filename='log.jsonl', append=append)
    _run(tmp_path, log_report, stop=(3, 'iteration'))
    lines = (tmp_path / 'log.jsonl').read_text().splitlines()
    assert [json.loads(line)['main/loss'] for line in lines] == [1.0, 2.0, 3.0]


def test_failed_write_leaves_previous_file(tmp_path, monkeypatch):
    writes = []

    class FailingStream(io.StringIO):
        def __init__(self, path, mode):
            super().__init__()
            self.path = path

        def write(self, text):
            writes.append(text.count('"iteration"'))
            with open(self.path, 'w') as stream:
                if len(writes) == 2:
                    stream.write(text[:len(text) // 2])  # half of it, then the disk fills up
                    raise OSError('disk full')
                stream.write(text)
    monkeypatch.setattr(log_report_module, 'open', FailingStream, raising=False)
    with pytest.raises(OSError, match='disk full'):
        _run(tmp_path, LogReport(trigger=(1, 'iteration')), stop=(3, 'iteration'))
    assert writes == [1, 2]
    assert len(json.loads((tmp_path / 'log').read_text())) == 1
    assert os.listdir(tmp_path) == ['log']


def test_serialize_resumes_log_and_partial_means(tmp_path):
    first = LogReport(trigger=(1, 'epoch'))
    trainer = _run(tmp_path, first, stop=(4, 'iteration'), iters_per_epoch=3)
    serializer = DictSerializer()
    trainer.serialize(serializer)

    second = LogReport(trigger=(1, 'epoch'))
    resumed = Trainer(FakeUpdater(3), (6, 'iteration'), out=str(tmp_path))
    resumed.extend(second)
    resumed.serialize(DictDeserializer(serializer.target))
    resumed.run()
    # the second epoch mean spans both runs: (4 + 5 + 6) / 3
    assert [(e['main/loss'], e['iteration']) for e in second.log] == [(2.0, 3), (5.0, 6)]
    assert json.loads((tmp_path / 'log').read_text()) == second.log


def test_bad_format():
    with pytest.raises(ValueError, match=r"LogReport: format must be one of \('json', "
                                         r"'json-lines'\), got 'yaml'"):
        LogReport(format='yaml')
