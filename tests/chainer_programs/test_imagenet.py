"""Chainer's examples/imagenet, ported by changing imports only, on the CPU: one training step
of each of its six models on random images, and compute_mean.py followed by train_imagenet.py
on a few small local images and the list files the programs read."""
import json
import os

import numpy
import pytest

from porting import PROGRAMS, check, make_images, port_tree, run_program

pytestmark = pytest.mark.slow

# Written into the ported folder next to the models and run there: it imports the ported
# modules (alex.py, nin.py, ...) as train_imagenet.py does.
ONE_STEP = '''
import json
import sys

import numpy

import dchain

import alex
import googlenet
import googlenetbn
import nin
import resnet50
import resnext50

ARCHS = {'alex': alex.Alex, 'googlenet': googlenet.GoogLeNet,
         'googlenetbn': googlenetbn.GoogLeNetBN, 'nin': nin.NIN,
         'resnet50': resnet50.ResNet50, 'resnext50': resnext50.ResNeXt50}

model = ARCHS[sys.argv[1]]()
rng = numpy.random.RandomState(0)
x = rng.uniform(-0.5, 0.5, (2, 3, model.insize, model.insize)).astype(numpy.float32)
t = rng.randint(0, 1000, 2).astype(numpy.int32)
optimizer = dchain.optimizers.MomentumSGD(lr=0.01, momentum=0.9)
optimizer.setup(model)
loss = model(x, t)
before = {name: param.data.copy() for name, param in model.namedparams()}
model.cleargrads()
loss.backward()
optimizer.update()
print(json.dumps({
    'loss': float(loss.data), 'params': len(before),
    'without_grad': [name for name, p in model.namedparams() if p.grad is None],
    'changed': sum(1 for name, p in model.namedparams()
                   if not numpy.array_equal(p.data, before[name]))}))
'''


@pytest.mark.parametrize('arch', ['alex', 'nin', 'googlenet', 'googlenetbn', 'resnet50',
                                  'resnext50'])
def test_each_model_takes_a_training_step(tmp_path, arch):
    folder = port_tree(os.path.join(PROGRAMS, 'imagenet'), str(tmp_path / 'imagenet'))
    with open(os.path.join(folder, 'one_step.py'), 'w') as f:
        f.write(ONE_STEP)
    result = json.loads(check(run_program('imagenet/one_step.py', [arch],
                                          tmp_path=tmp_path)).splitlines()[-1])
    # A softmax over 1000 classes starts near log(1000) = 6.9 per loss term (GoogLeNet adds
    # two auxiliary classifiers at weight 0.3)
    assert 5 < result['loss'] < 20
    assert result['without_grad'] == []
    assert result['changed'] == result['params'] > 10


def test_compute_mean_and_train_imagenet(tmp_path):
    pytest.importorskip('PIL')
    images = tmp_path / 'images'
    images.mkdir()
    lines = make_images(str(images), 6, 232)  # NIN crops 227x227 at random offsets
    (tmp_path / 'train.txt').write_text(''.join(lines[:4]))
    (tmp_path / 'val.txt').write_text(''.join(lines[4:]))
    train, val, mean = (str(tmp_path / name) for name in ('train.txt', 'val.txt', 'mean.npy'))

    check(run_program('imagenet/compute_mean.py', [train, '-R', str(images), '-o', mean],
                      tmp_path=tmp_path))
    expected = numpy.mean([numpy.asarray(_read(str(images / line.split()[0])))
                           for line in lines[:4]], axis=0).transpose(2, 0, 1)
    numpy.testing.assert_allclose(numpy.load(mean), expected, rtol=1e-5)

    stdout = check(run_program(
        'imagenet/train_imagenet.py',
        [train, val, '--arch', 'nin', '--epoch', '2', '--batchsize', '4', '--val_batchsize', '2',
         '--mean', mean, '--root', str(images), '--test'], tmp_path=tmp_path,
        # the program draws its weights and order from NumPy's global state and its crops
        # from Python's, both unseeded: seed them
        preamble='import random\nimport numpy\nrandom.seed(0)\nnumpy.random.seed(0)\n'))
    assert 'Dtype: float32' in stdout
    result = tmp_path / 'imagenet' / 'result'
    with open(str(result / 'log')) as f:
        log = json.load(f)
    assert [entry['iteration'] for entry in log] == [1, 2]
    assert all(entry['lr'] == 0.01 for entry in log)
    # Each step sees the same four images of two classes: the first update teaches the model
    # which two of the 1000 labels occur, so the loss falls from about log(1000) = 6.9.
    # Over seeds 0-7 of both random states: main/loss 6.4-7.9 then 2.1-5.9, each a fall of
    # 1.6 or more, and validation/main/loss 2.4-6.0 after the first step; Chainer 7.8.1 running
    # the same program on the same images and seeds: 6.3-8.3 then 3.0-5.8, validation 3.5-5.8.
    # (With lr 0.01 and momentum 0.9 the later steps overshoot, in Chainer as here.)
    first, second = log
    assert first['main/loss'] > 5 and second['main/loss'] < first['main/loss'] - 1, log
    assert first['validation/main/loss'] < 6.5, log
    names = set(os.listdir(str(result)))
    assert {'cg.dot', 'log', 'snapshot_iter_2', 'model_iter_2'} <= names


def _read(path):
    from PIL import Image
    with Image.open(path) as image:
        return numpy.asarray(image.convert('RGB'), dtype=numpy.float32)
