"""Chainer's examples/cifar programs (VGG), ported by changing imports only, on small local
data in get_cifar10's format, on the CPU.

The images are 8x8 instead of 32x32 (VGG's five poolings round up, so any size runs) and hold
two classes of the ten: a fixed pattern per class with noise. What the model must learn first
is which two labels occur, so the loss falls from about log(10) within two epochs, as it does
in Chainer on the same data (measured with Chainer 7.8.1: main/loss 1.97 -> 1.12 with
``-e 2 -b 16 -l 0.01``; dchain 1.97 -> 0.88).
"""
import json
import os
import re

import pytest

from porting import check, run_program

pytestmark = pytest.mark.slow

PREAMBLE = '''
import numpy
import dchain
import dchain.datasets

numpy.random.seed(0)


def _fake_cifar(n_classes, n_train=64, n_test=32, size=8):
    """(train, test) TupleDatasets as get_cifar10/100 return them: float32 images (3, size,
    size) in [0, 1] and int32 labels."""
    rng = numpy.random.RandomState(0)
    patterns = rng.uniform(0, 1, (2, 3, size, size)).astype(numpy.float32)

    def split(n):
        labels = numpy.arange(n) % 2
        images = 0.8 * patterns[labels] + 0.2 * rng.uniform(0, 1, (n, 3, size, size))
        return dchain.datasets.TupleDataset(images.astype(numpy.float32),
                                            labels.astype(numpy.int32))
    return split(n_train), split(n_test)


def get_cifar10(withlabel=True, ndim=3, scale=1.0, dtype=None):
    return _fake_cifar(10)


def get_cifar100(withlabel=True, ndim=3, scale=1.0, dtype=None):
    return _fake_cifar(100)


dchain.datasets.get_cifar10 = get_cifar10
dchain.datasets.get_cifar100 = get_cifar100
'''


def test_train_cifar(tmp_path):
    check(run_program('cifar/train_cifar.py', ['-e', '2', '-b', '16', '-l', '0.01'],
                      tmp_path=tmp_path, preamble=PREAMBLE))
    result = tmp_path / 'cifar' / 'result'
    with open(str(result / 'log')) as f:
        log = json.load(f)
    assert [(entry['epoch'], entry['iteration']) for entry in log] == [(1, 4), (2, 8)]
    assert log[1]['main/loss'] < log[0]['main/loss'] - 0.3
    assert 'validation/main/accuracy' in log[1]
    names = set(os.listdir(str(result)))
    assert {'cg.dot', 'log', 'snaphot_epoch_1', 'snaphot_epoch_2'} <= names
    graph = (result / 'cg.dot').read_text()
    # VGG's 13 convolutions, each with batch normalization and relu (the 14th of each is the
    # fully connected block's)
    assert graph.count('label="convolution_2d"') == 13
    assert graph.count('label="batch_normalization"') == 14


def test_train_cifar_custom_loop(tmp_path):
    stdout = check(run_program('cifar/train_cifar_custom_loop.py',
                               ['-e', '2', '-b', '16', '-l', '0.01'], tmp_path=tmp_path,
                               preamble=PREAMBLE))
    train = [float(loss) for loss in re.findall(r'train mean loss: ([\d.e+-]+)', stdout)]
    test = [float(loss) for loss in re.findall(r'test mean  loss: ([\d.e+-]+)', stdout)]
    assert len(train) == 2 and len(test) == 2
    assert train[1] < train[0] - 0.3
    assert {'vgg.model', 'vgg.state'} <= set(os.listdir(str(tmp_path / 'cifar' / 'result')))
    # It resumes from the model and optimizer state it saved.
    stdout = check(run_program('cifar/train_cifar_custom_loop.py',
                               ['-e', '1', '-b', '16', '-l', '0.01', '-r', 'result',
                                '-o', 'again'], tmp_path=tmp_path, preamble=PREAMBLE))
    resumed = [float(loss) for loss in re.findall(r'train mean loss: ([\d.e+-]+)', stdout)]
    assert len(resumed) == 1 and resumed[0] < train[0]
