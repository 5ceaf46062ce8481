"""Chainer's examples/static_graph_optimizations/mnist programs ported by changing imports
only, on the bundled MNIST subset: ``@static_graph`` / ``@static_code`` models train
define-by-run, with the trainer and with the custom loop."""
import json
import os
import re

import pytest

from porting import check, run_program

pytestmark = pytest.mark.slow
FOLDER = 'static_graph_optimizations/mnist/'


@pytest.mark.parametrize('model', ['MLP', 'MLPSideEffect'])
def test_train_mnist(tmp_path, model):
    check(run_program(FOLDER + 'train_mnist.py', ['-e', '2', '-u', '50', '-m', model],
                      tmp_path=tmp_path))
    result = tmp_path / 'static_graph_optimizations' / 'mnist' / 'result'
    with open(str(result / 'log')) as f:
        log = json.load(f)
    assert [entry['epoch'] for entry in log] == [1, 2]
    assert log[1]['main/loss'] < log[0]['main/loss']
    assert log[1]['validation/main/loss'] < log[0]['validation/main/loss']
    assert log[1]['validation/main/accuracy'] > 0.7
    assert {'log', 'loss.png', 'accuracy.png', 'snapshot_iter_80'} <= set(os.listdir(str(result)))


def test_train_mnist_custom_loop(tmp_path):
    stdout = check(run_program(FOLDER + 'train_mnist_custom_loop.py',
                               ['-e', '2', '-u', '50', '-m', 'MLPSideEffect'], tmp_path=tmp_path))
    train = [float(a) for a in re.findall(r'train mean loss: ([\d.]+)', stdout)]
    test = [float(a) for a in re.findall(r'test mean  loss: [\d.]+, accuracy: ([\d.]+)', stdout)]
    assert len(train) == 2 and train[1] < train[0]
    assert len(test) == 2 and test[1] > 0.7
    assert 'save the model' in stdout and 'save the optimizer' in stdout
    folder = tmp_path / 'static_graph_optimizations' / 'mnist'
    assert (folder / 'mlp.model').exists() and (folder / 'mlp.state').exists()
