#!/usr/bin/env python
"""Chainer 7's equivalent of examples/mnist.py, for the memory row of bench/run.py.

    python bench/peers/chainer_mnist.py --data dchain/datasets/data/mnist_5k.npz --epoch 1

The same model (784-1000-1000-10 MLP in a Classifier), batch 100, Adam, the same data (the
.npz given: x_train, y_train, x_test, y_test as uint8 pixels and labels) and the same
extensions as the dchain example on one process: evaluation, a snapshot at the end, the log,
two plots, the printed report and the progress bar; then the model is saved.
"""
import argparse
import os

import numpy

import chainer
import chainer.functions as F
import chainer.links as L
from chainer import training
from chainer.training import extensions


class MLP(chainer.Chain):
    """784 -> n_units -> n_units -> n_out with ReLU."""

    def __init__(self, n_units, n_out):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(None, n_units)
            self.l2 = L.Linear(None, n_units)
            self.l3 = L.Linear(None, n_out)

    def forward(self, x):
        h1 = F.relu(self.l1(x))
        h2 = F.relu(self.l2(h1))
        return self.l3(h2)


def load(path):
    with numpy.load(path) as arrays:
        parts = []
        for part in ('train', 'test'):
            x = arrays['x_' + part].reshape(-1, 784).astype(numpy.float32)
            x *= 1 / 255.
            parts.append(chainer.datasets.TupleDataset(x, arrays['y_' + part].astype(numpy.int32)))
    return parts


def main():
    parser = argparse.ArgumentParser(description='Chainer example: MNIST')
    parser.add_argument('--data', required=True, help='the .npz of the dataset')
    parser.add_argument('--batchsize', '-b', type=int, default=100)
    parser.add_argument('--epoch', '-e', type=int, default=20)
    parser.add_argument('--unit', '-u', type=int, default=1000)
    parser.add_argument('--out', '-o', default='result')
    args = parser.parse_args()

    numpy.random.seed(0)
    model = L.Classifier(MLP(args.unit, 10))
    optimizer = chainer.optimizers.Adam()
    optimizer.setup(model)
    train, test = load(args.data)
    train_iter = chainer.iterators.SerialIterator(train, args.batchsize)
    test_iter = chainer.iterators.SerialIterator(test, args.batchsize, repeat=False,
                                                 shuffle=False)
    updater = training.StandardUpdater(train_iter, optimizer)
    trainer = training.Trainer(updater, (args.epoch, 'epoch'), out=args.out)
    trainer.extend(extensions.Evaluator(test_iter, model), name='validation')
    trainer.extend(extensions.snapshot(n_retains=2), trigger=(args.epoch, 'epoch'))
    trainer.extend(extensions.LogReport())
    trainer.extend(extensions.PlotReport(['main/loss', 'validation/main/loss'], 'epoch',
                                         file_name='loss.png'))
    trainer.extend(extensions.PlotReport(['main/accuracy', 'validation/main/accuracy'],
                                         'epoch', file_name='accuracy.png'))
    trainer.extend(extensions.PrintReport(
        ['epoch', 'main/loss', 'validation/main/loss', 'main/accuracy',
         'validation/main/accuracy', 'elapsed_time']))
    trainer.extend(extensions.ProgressBar())
    trainer.run()
    chainer.serializers.save_npz(os.path.join(args.out, 'model.npz'), model)
    print('final validation accuracy: {:.4f}'.format(
        float(trainer.observation['validation/main/accuracy'])))


if __name__ == '__main__':
    main()
