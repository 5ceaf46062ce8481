"""Chainer's examples/glance/glance.py ("Chainer at a Glance") ported by changing imports
only: an MLP built with Sequential.repeat classifies mushrooms with sigmoid cross entropy and
binary accuracy for 50 epochs, on the program's own mushrooms.csv (8,124 mushrooms). Most of
its time goes to PlotReport drawing two figures per epoch."""
import json
import os

import pytest

from porting import check, run_program

pytestmark = [
    pytest.mark.slow,
        ]


def test_glance(tmp_path):
    folder = tmp_path / 'glance'
    stdout = check(run_program('glance/glance.py', tmp_path=tmp_path))
    assert 'Predicted' in stdout and 'Actual' in stdout
    result = folder / 'result'
    with open(str(result / 'log')) as f:
        log = json.load(f)
    assert [entry['epoch'] for entry in log] == list(range(1, 51))
    # Chainer 7.8.1's tutorial reports a validation accuracy of about 0.99 after 50 epochs
    assert log[-1]['main/loss'] < log[0]['main/loss'] / 3
    assert log[-1]['validation/main/accuracy'] > 0.95
    assert log[-1]['validation/main/accuracy'] > log[0]['validation/main/accuracy']
    names = set(os.listdir(str(result)))
    assert {'cg.dot', 'loss.png', 'accuracy.png'} <= names
    assert len([name for name in names if name.startswith('snapshot_iter_')]) == 2  # epochs 20, 40
