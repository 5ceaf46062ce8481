"""ChainerMN's examples/chainermn/dcgan/train_dcgan.py, ported by changing imports only, under
``mpirun -n 2`` on the CPU, on small local CIFAR-shaped images. Its updater steps two
optimizers named 'gen' and 'dis' (no 'main'), each a multi-node optimizer."""
import json
import math
import os

import numpy
import pytest

from porting import check, mpirun_path, run_program


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(mpirun_path() is None, reason='needs mpirun')]

# get_cifar10(withlabel=False, scale=255.) as the program calls it: float32 (N, 3, 32, 32)
# images in [0, 255], train and test
PREAMBLE = '''
import numpy
import dchain.datasets


def get_cifar10(withlabel=True, ndim=3, scale=1.0, dtype=None):
    rng = numpy.random.RandomState(0)
    x = rng.uniform(0, 1, (16, 3, 32, 32)).astype(numpy.float32)
    x[:, 0] = numpy.linspace(0, 1, 32, dtype=numpy.float32)[None, None, :]
    x *= scale
    if withlabel:
        t = numpy.zeros(16, numpy.int32)
        return dchain.datasets.TupleDataset(x, t), dchain.datasets.TupleDataset(x[:4], t[:4])
    return x, x[:4]


dchain.datasets.get_cifar10 = get_cifar10
'''


def test_train_dcgan(tmp_path):
    stdout = check(run_program('chainermn/dcgan/train_dcgan.py',
                               ['-e', '1', '-b', '4', '-n', '10', '--snapshot_interval', '2',
                                '--display_interval', '1'],
                               tmp_path=tmp_path, n=2, preamble=PREAMBLE))
    assert 'Num process (COMM_WORLD): 2' in stdout
    result = tmp_path / 'chainermn' / 'dcgan' / 'result'
    log = json.loads((result / 'log').read_text())
    # 8 images a rank, batches of 4: two iterations, both logged
    assert [e['iteration'] for e in log] == [1, 2]
    for entry in log:
        assert math.isfinite(entry['gen/loss']) and math.isfinite(entry['dis/loss'])
    names = set(os.listdir(str(result)))
    assert {'gen_iter_2.npz', 'dis_iter_2.npz', 'log', 'preview'} <= names
    assert os.listdir(str(result / 'preview')) == ['image00000002.png']
    with numpy.load(str(result / 'gen_iter_2.npz')) as saved:
        assert saved['l0/W'].shape == (4 * 4 * 512, 10)
