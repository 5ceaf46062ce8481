"""Chainer's examples/dcgan, ported by changing imports only, on the CPU: on small local data in
get_cifar10's format (``withlabel=False, scale=255.``), then resumed from its snapshot on a
folder of PNG images (the program's ``--dataset`` path, read with ImageDataset).

A GAN's two losses trade off rather than fall together; at these sizes (8 to 12 steps) they
wander in Chainer 7.8.1 too (gen/loss 0.78 .. 1.46, dis/loss 1.62 .. 2.19 over 8 steps of batch
16 on such data), so the test checks what the run must produce: both losses at every
display interval, finite and positive; the generator's preview grid; the snapshots; and that
training resumes where the snapshot left it.
"""
import json
import math
import os

import numpy
import pytest

from porting import check, run_program

pytestmark = pytest.mark.slow

PREAMBLE = '''
import numpy
import dchain
import dchain.datasets

numpy.random.seed(0)


def get_cifar10(withlabel=True, ndim=3, scale=1.0, dtype=None):
    """(train, test) image arrays as get_cifar10(withlabel=False) returns them: float32
    (n, 3, 32, 32) in [0, scale], here smooth ramps of random colours."""
    assert not withlabel and ndim == 3
    rng = numpy.random.RandomState(0)
    ramp = numpy.linspace(0, 1, 32, dtype=numpy.float32)

    def images(n):
        colour = rng.uniform(0, 1, (n, 3, 1, 1)).astype(numpy.float32)
        vertical = rng.randint(0, 2, (n, 1, 1, 1)).astype(numpy.float32)
        pattern = vertical * ramp[:, None] + (1 - vertical) * ramp[None, :]
        return (colour * pattern * scale).astype(numpy.float32)
    return images(16), images(8)


dchain.datasets.get_cifar10 = get_cifar10
'''


def _log(result):
    with open(str(result / 'log')) as f:
        return json.load(f)


def _check_losses(log):
    for entry in log:
        for key in ('gen/loss', 'dis/loss'):
            assert math.isfinite(entry[key]) and entry[key] > 0, entry


def test_train_dcgan_and_resume_on_image_files(tmp_path):
    pytest.importorskip('PIL')
    from PIL import Image
    args = ['--batchsize', '4', '--n_hidden', '10', '--snapshot_interval', '8',
            '--display_interval', '2']
    check(run_program('dcgan/train_dcgan.py', args + ['--epoch', '2'], tmp_path=tmp_path,
                      preamble=PREAMBLE))
    result = tmp_path / 'dcgan' / 'result'
    log = _log(result)
    assert [entry['iteration'] for entry in log] == [2, 4, 6, 8]
    _check_losses(log)
    names = set(os.listdir(str(result)))
    assert {'snapshot_iter_8.npz', 'gen_iter_8.npz', 'dis_iter_8.npz', 'preview'} <= names
    with Image.open(str(result / 'preview' / 'image00000008.png')) as image:
        preview = numpy.asarray(image)
    assert preview.shape == (320, 320, 3)   # 10 x 10 generated 32x32 images
    assert preview.std() > 0

    folder = tmp_path / 'images'
    folder.mkdir()
    rng = numpy.random.RandomState(1)
    for i in range(16):  # as many as before: the iterator's saved order must fit
        pixels = rng.randint(0, 256, (32, 32, 3)).astype(numpy.uint8)
        Image.fromarray(pixels).save(str(folder / 'image{}.png'.format(i)))
    stdout = check(run_program(
        'dcgan/train_dcgan.py',
        args + ['--epoch', '3', '--dataset', str(folder), '--resume',
                str(result / 'snapshot_iter_8.npz')], tmp_path=tmp_path))
    assert 'contains 16 image files' in stdout
    log = _log(result)
    # The log of the first run comes back from the snapshot; epoch 3 adds four iterations.
    assert [entry['iteration'] for entry in log] == [2, 4, 6, 8, 10, 12]
    _check_losses(log)
