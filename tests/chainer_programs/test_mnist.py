"""Chainer's examples/mnist programs, ported by changing imports only, on the bundled MNIST
subset (4,000 train / 1,000 test digits), on the CPU."""
import json
import os
import re

import pytest

from porting import check, run_program

pytestmark = pytest.mark.slow


def _log(tmp_path, out='result'):
    with open(os.path.join(str(tmp_path), 'mnist', out, 'log')) as f:
        return json.load(f)


def _learned(log):
    """The last epoch beats the first on loss and accuracy, and accuracy is well above 0.1."""
    first, last = log[0], log[-1]
    assert last['main/loss'] < first['main/loss']
    assert last['validation/main/loss'] < first['validation/main/loss']
    assert last['validation/main/accuracy'] > 0.6


def test_train_mnist(tmp_path):
    check(run_program('mnist/train_mnist.py', ['-e', '2', '-u', '50'], tmp_path=tmp_path))
    log = _log(tmp_path)
    # Evaluator, LogReport, PlotReport and PrintReport run before training: Chainer's epoch-0
    # entry holds the untrained model's score alone
    assert [(e['epoch'], e['iteration']) for e in log] == [(0, 0), (1, 40), (2, 80)]
    assert 'main/loss' not in log[0] and 0 < log[0]['validation/main/accuracy'] < 0.3
    _learned(log[1:])
    assert log[2]['validation/main/accuracy'] > log[0]['validation/main/accuracy'] + 0.4
    result = tmp_path / 'mnist' / 'result'
    names = set(os.listdir(str(result)))
    assert {'cg.dot', 'log', 'loss.png', 'accuracy.png', 'snapshot_iter_80'} <= names
    graph = (result / 'cg.dot').read_text()
    assert graph.startswith('digraph graphname{') and 'W: (50, 784), float32' in graph
    assert graph.count('->') >= 16   # 3 linear layers, 2 relu, the loss


def test_train_mnist_resumes_from_its_snapshot(tmp_path):
    check(run_program('mnist/train_mnist.py', ['-e', '1', '-u', '20'], tmp_path=tmp_path))
    snapshot = str(tmp_path / 'mnist' / 'result' / 'snapshot_iter_40')
    stdout = check(run_program('mnist/train_mnist.py',
                               ['-e', '2', '-u', '20', '-r', snapshot, '-o', 'resumed'],
                               tmp_path=tmp_path))
    log = _log(tmp_path, 'resumed')
    # the epoch-0 and epoch-1 entries come from the snapshot; training went on to epoch 2
    assert [e['epoch'] for e in log] == [0, 1, 2]
    assert log[2]['iteration'] == 80
    assert re.search(r'^2\s', stdout, re.M)


def test_train_mnist_custom_loop(tmp_path):
    stdout = check(run_program('mnist/train_mnist_custom_loop.py', ['-e', '2', '-u', '50'],
                               tmp_path=tmp_path))
    test = [(float(loss), float(accuracy)) for loss, accuracy in re.findall(
        r'test mean  loss: ([\d.e-]+), accuracy: ([\d.e-]+)', stdout)]
    train = [float(loss) for loss in re.findall(r'train mean loss: ([\d.e-]+)', stdout)]
    assert len(test) == 2 and len(train) == 2
    assert train[1] < train[0] and test[1][0] < test[0][0] and test[1][1] > 0.6
    assert {'mlp.model', 'mlp.state'} <= set(os.listdir(str(tmp_path / 'mnist' / 'result')))
    # and it resumes from what it saved
    check(run_program('mnist/train_mnist_custom_loop.py',
                      ['-e', '1', '-u', '50', '-r', 'result', '-o', 'again'], tmp_path=tmp_path))


def test_train_mnist_data_parallel_on_the_cpu_twice(tmp_path):
    check(run_program('mnist/train_mnist_data_parallel.py',
                      ['-e', '2', '-u', '50', '-b', '100', '-d', '-1', '-D', '-1'],
                      tmp_path=tmp_path))
    log = _log(tmp_path, 'result_data_parallel')
    assert [e['epoch'] for e in log] == [1, 2]
    _learned(log)
    assert log[0]['second/loss'] > 0   # the second device's model reports too
    names = set(os.listdir(str(tmp_path / 'mnist' / 'result_data_parallel')))
    assert {'cg.dot', 'log', 'snapshot_iter_80'} <= names


def test_train_mnist_model_parallel_on_the_cpu(tmp_path):
    check(run_program('mnist/train_mnist_model_parallel.py',
                      ['-e', '2', '-u', '50', '-d', '-1', '-D', '-1'], tmp_path=tmp_path))
    log = _log(tmp_path, 'result_model_parallel')
    assert [e['epoch'] for e in log] == [1, 2]
    _learned(log)
