import json
import os

import pytest

from dchain.training import Trainer
from dchain.training.extensions import PlotReport
from dchain.training.extensions import plot_report as plot_report_module

from .._fakes import DictDeserializer, DictSerializer, FakeUpdater

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def _run(out, extension, stop=(4, 'epoch')):
    trainer = Trainer(FakeUpdater(2), stop, out=str(out))
    trainer.extend(extension)
    trainer.run()
    return trainer


def test_writes_a_png(tmp_path):
    pytest.importorskip('matplotlib')
    postprocessed = []
    extension = PlotReport(['main/loss', 'main/child/inner', 'absent'], 'iteration',
                           filename='loss.png',
                           postprocess=lambda figure, axes, summary: postprocessed.append(
                               sorted(summary)))
    _run(tmp_path, extension)
    assert os.listdir(tmp_path) == ['loss.png']
    assert (tmp_path / 'loss.png').read_bytes()[:8] == PNG_SIGNATURE
    assert extension._data['main/loss'] == [(2, 1.5), (4, 3.5), (6, 5.5), (8, 7.5)]
    assert extension._data['absent'] == []
    assert postprocessed[-1] == ['main/child/inner', 'main/loss']


def test_file_name_alias_and_resume(tmp_path):
    pytest.importorskip('matplotlib')
    first = PlotReport('main/loss', file_name='old.png')
    trainer = _run(tmp_path, first, stop=(2, 'epoch'))
    serializer = DictSerializer()
    trainer.serialize(serializer)
    assert json.loads(str(serializer.target['extensions/PlotReport/_plot_old.png'])) == {
        'main/loss': [[1, 1.5], [2, 3.5]]}
    second = PlotReport('main/loss', file_name='old.png')
    resumed = Trainer(FakeUpdater(2), (3, 'epoch'), out=str(tmp_path))
    resumed.extend(second)
    resumed.serialize(DictDeserializer(serializer.target))
    resumed.run()
    assert second._data['main/loss'] == [(1, 1.5), (2, 3.5), (3, 5.5)]


def test_without_matplotlib_warns_once(tmp_path, monkeypatch):
    monkeypatch.setattr(plot_report_module, '_matplotlib', False)
    with pytest.warns(UserWarning, match='PlotReport needs matplotlib'):
        assert PlotReport.available() is False
    with pytest.warns(UserWarning, match='PlotReport needs matplotlib') as record:
        _run(tmp_path, PlotReport(['main/loss']))
    assert len(record) == 1
    assert os.listdir(tmp_path) == []


def test_bad_x_key():
    with pytest.raises(ValueError, match="PlotReport: x_key must be 'epoch' or 'iteration', got "
                                         "'main/loss'"):
        PlotReport(['main/loss'], x_key='main/loss')
