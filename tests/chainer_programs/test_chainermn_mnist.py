"""ChainerMN's examples/chainermn/mnist programs, ported by changing imports only, under
``mpirun -n 2`` (the dual-parallel one ``-n 4``) on the CPU, on the bundled MNIST subset."""
import json
import os

import pytest

from porting import check, mpirun_path, run_program

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(mpirun_path() is None, reason='needs mpirun')]


def _log(tmp_path):
    with open(os.path.join(str(tmp_path), 'chainermn', 'mnist', 'result', 'log')) as f:
        return json.load(f)


def _learned(log):
    assert [e['epoch'] for e in log] == [1, 2]
    assert log[1]['main/loss'] < log[0]['main/loss']
    assert log[1]['validation/main/loss'] < log[0]['validation/main/loss']
    assert log[1]['validation/main/accuracy'] > 0.6


def test_train_mnist_data_parallel(tmp_path):
    stdout = check(run_program('chainermn/mnist/train_mnist.py', ['-e', '2', '-u', '50'],
                               tmp_path=tmp_path, n=2))
    assert 'Num process (COMM_WORLD): 2' in stdout
    log = _log(tmp_path)
    _learned(log)
    # each rank trains on half the data: 2,000 examples, 20 iterations of 100 an epoch
    assert log[0]['iteration'] == 20
    graph = (tmp_path / 'chainermn' / 'mnist' / 'result' / 'cg.dot').read_text()
    assert 'W: (50, 784), float32' in graph


def test_train_mnist_model_parallel(tmp_path):
    # rank 0 holds the first layer and the loss, rank 1 the two others: activations and
    # gradients cross between the ranks at every step (MultiNodeChainList, send and recv)
    check(run_program('chainermn/mnist/train_mnist_model_parallel.py', ['-e', '2', '-u', '50'],
                      tmp_path=tmp_path, n=2))
    log = _log(tmp_path)
    _learned(log)
    assert log[0]['iteration'] == 40   # rank 0 reads all 4,000 examples
    graph = (tmp_path / 'chainermn' / 'mnist' / 'result' / 'cg.dot').read_text()
    assert 'Send (peer_rank: 1)' in graph and 'Recv (peer_rank: 1)' in graph


def test_train_mnist_dual_parallel(tmp_path):
    # 4 ranks: two pipelines of two stages (model parallel), each stage data parallel over
    # the two pipelines; the second stage's links are sized lazily by the first update
    check(run_program('chainermn/mnist/train_mnist_dual_parallel.py', ['-e', '2', '-u', '50'],
                      tmp_path=tmp_path, n=4))
    log = _log(tmp_path)
    _learned(log)
    assert log[0]['iteration'] == 20   # each pipeline reads half of the 4,000 examples
