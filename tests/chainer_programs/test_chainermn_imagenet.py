"""ChainerMN's examples/chainermn/imagenet (train_imagenet.py and its models), ported by
changing imports only, under ``mpirun -n 2`` on the CPU: compute_mean.py, then data-parallel
training of NIN on a few small local images (``scatter_dataset``, ``MultiprocessIterator``,
the multi-node optimizer and a multi-node evaluator).

The program needs a GPU: it stops with ``RuntimeError('ImageNet requires GPU support.')``
when CUDA is not available and moves the model to GPU ``comm.intra_rank``, on Chainer 7.8.1
as on any port. The test machines have none, so the test runs it with three lines changed
for the CPU, nothing else: ``if not chainer.cuda.available:`` becomes ``if False:``,
``device = comm.intra_rank`` becomes ``device = -1`` and ``model.to_gpu()`` becomes
``model.to_device(device)``. Chainer 7.8.1 runs the program so changed, with the same
arguments and images, at 2 and 3 ranks.

One difference from ChainerMN is by design: ChainerMN's multi-node optimizer only
broadcasts rank 0's parameters at the first update and skips that update, where dchain's
broadcasts and then updates (so that N ranks train as one does), so dchain's run learns one
step earlier.
"""
import json
import math
import os

import numpy
import pytest

from porting import PROGRAMS, check, make_images, mpirun_path, port_tree, run_program

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(mpirun_path() is None, reason='needs mpirun')]

_CPU = (('    if not chainer.cuda.available:\n', '    if False:\n'),
        ('    device = comm.intra_rank\n', '    device = -1\n'),
        ('    model.to_gpu()\n', '    model.to_device(device)\n'))


def test_compute_mean_and_train_imagenet(tmp_path):
    pytest.importorskip('PIL')
    folder = tmp_path / 'chainermn' / 'imagenet'
    port_tree(os.path.join(PROGRAMS, 'chainermn', 'imagenet'), str(folder))
    program = folder / 'train_imagenet.py'
    source = program.read_text()
    for old, new in _CPU:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    program.write_text(source)

    images = tmp_path / 'images'
    images.mkdir()
    lines = make_images(str(images), 12, 232)  # NIN crops 227x227 at random offsets
    (tmp_path / 'train.txt').write_text(''.join(lines[:8]))
    (tmp_path / 'val.txt').write_text(''.join(lines[8:]))
    train, val, mean = (str(tmp_path / name) for name in ('train.txt', 'val.txt', 'mean.npy'))
    check(run_program('chainermn/imagenet/compute_mean.py', [train, '-R', str(images), '-o', mean],
                      tmp_path=tmp_path))
    assert numpy.load(mean).shape == (3, 232, 232)

    stdout = check(run_program(
        'chainermn/imagenet/train_imagenet.py',
        [train, val, '--arch', 'nin', '--epoch', '2', '--batchsize', '2', '--val_batchsize', '2',
         '--mean', mean, '--root', str(images), '--communicator', 'naive', '--loaderjob', '1'],
        tmp_path=tmp_path, n=2,
        # weights and the data order come from NumPy's global state: seed it (the random
        # crops are drawn in the loader's worker processes, unseeded)
        preamble='import random\nimport numpy\nrandom.seed(0)\nnumpy.random.seed(0)\n'))
    assert 'Num process (COMM_WORLD): 2' in stdout
    assert 'Using naive communicator' in stdout and 'Using nin arch' in stdout
    result = folder / 'result'
    log = json.loads((result / 'log').read_text())
    # scatter_dataset gives each rank 4 of the 8 images, batches of 2: 2 iterations an epoch;
    # the evaluator is run every epoch over both ranks' halves of the 4 validation images
    assert [(e['epoch'], e['iteration']) for e in log] == [(1, 2), (2, 4)]
    for entry in log:
        assert entry['lr'] == 0.01
        for key in ('main/loss', 'validation/main/loss', 'main/accuracy',
                    'validation/main/accuracy'):
            assert math.isfinite(entry[key]), entry
        assert entry['validation/main/accuracy'] in (0, 0.25, 0.5, 0.75, 1), entry
    # The 1000-way softmax starts near log(1000) = 6.9, and the model learns which two labels
    # occur within the first updates. Five runs (the crops differ): main/loss 5.3-6.7 in epoch
    # 1, validation/main/loss after it 0.8-2.3; Chainer 7.8.1, whose first update only
    # broadcasts: 7.3-7.8, validation 5.5-5.8. Later epochs overshoot with lr 0.01 and
    # momentum 0.9, in Chainer as here.
    first = log[0]
    assert first['main/loss'] > 4.5, log
    assert first['validation/main/loss'] < first['main/loss'] - 1, log
    assert {'cg.dot', 'log'} <= set(os.listdir(str(result)))
    graph = (result / 'cg.dot').read_text()
    # NIN's 12 convolutions, the first of 96 11x11 filters over RGB
    assert graph.count('label="W: (') == 12
    assert 'W: (96, 3, 11, 11), float32' in graph
