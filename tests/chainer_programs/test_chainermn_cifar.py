"""ChainerMN's examples/chainermn/cifar/train_cifar.py (VGG), ported by changing imports only,
under ``mpirun -n 2`` on the CPU, on small local CIFAR-shaped data.

Chainer 7.8.1's ``models/VGG.py`` of this example does not run, on Chainer either:
``old_n_class_labels = argument.parse_kwargs(kwargs, ('num_class_labels', None))`` binds a
1-tuple, which is never None, so the number of classes becomes ``(None,)`` and the last
``L.Linear`` fails at its first call (checked with Chainer 7.8.1). The test runs the program
with that one line unpacked (``old_n_class_labels, = ...``), as the example's author meant;
nothing else is changed.
"""
import json
import math
import os

import pytest

from porting import PROGRAMS, check, mpirun_path, port_tree, run_program


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(mpirun_path() is None, reason='needs mpirun')]

# get_cifar10 and get_cifar100 replaced by small data in their format: TupleDatasets of float32
# (N, 3, 32, 32) images in [0, 1] and int32 labels
PREAMBLE = '''
import numpy
import dchain.datasets


def _small(n, classes, seed):
    rng = numpy.random.RandomState(seed)
    t = (numpy.arange(n) % classes).astype(numpy.int32)
    x = rng.uniform(0, 0.2, (n, 3, 32, 32)).astype(numpy.float32)
    for i, c in enumerate(t):
        row, col = divmod(int(c) % 4, 2)
        x[i, c % 3, row * 16:row * 16 + 16, col * 16:col * 16 + 16] += 0.8
    return dchain.datasets.TupleDataset(x, t)


def get_cifar10(withlabel=True, ndim=3, scale=1.0, dtype=None):
    return _small(8, 10, 0), _small(4, 10, 1)


def get_cifar100(withlabel=True, ndim=3, scale=1.0, dtype=None):
    return _small(8, 100, 0), _small(4, 100, 1)


dchain.datasets.get_cifar10 = get_cifar10
dchain.datasets.get_cifar100 = get_cifar100
'''


def test_train_cifar(tmp_path):
    folder = tmp_path / 'chainermn' / 'cifar'
    port_tree(os.path.join(PROGRAMS, 'chainermn', 'cifar'), str(folder))
    vgg = folder / 'models' / 'VGG.py'
    source = vgg.read_text()
    assert source.count('old_n_class_labels = argument.parse_kwargs(') == 1
    vgg.write_text(source.replace('old_n_class_labels = argument.parse_kwargs(',
                                  'old_n_class_labels, = argument.parse_kwargs('))
    stdout = check(run_program('chainermn/cifar/train_cifar.py',
                               ['-e', '1', '-b', '2', '-d', 'cifar100'], tmp_path=tmp_path, n=2,
                               preamble=PREAMBLE))
    assert 'Num process (COMM_WORLD): 2' in stdout
    result = folder / 'result'
    log = json.loads((result / 'log').read_text())
    # 4 examples a rank, batches of 2: 2 iterations; the evaluation covers both ranks' halves
    assert [(e['epoch'], e['iteration']) for e in log] == [(1, 2)]
    for key in ('main/loss', 'validation/main/loss', 'main/accuracy',
                'validation/main/accuracy'):
        assert math.isfinite(log[0][key])
    assert {'cg.dot', 'snaphot_epoch_1', 'log'} <= set(os.listdir(str(result)))
