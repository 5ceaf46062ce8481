#!/usr/bin/env python
"""Train an MLP on MNIST read from an HDF5 file, a batch at a time, on one process or N ranks.

    python examples/hdf5.py                       # writes mnist.h5 from the bundled digits
    mpirun -n 4 python examples/hdf5.py           # 4 ranks read their shares of one file
    python examples/hdf5.py --source full         # the file from the full MNIST (get_mnist)

The data never has to fit in memory: ``HDF5Dataset`` reads each rank's slice of every global
batch in one sorted read, and ``n_prefetch`` reads the next batches in a background thread
while the current one trains. To train on your own data, write arrays ``train/x``,
``train/y``, ``test/x``, ``test/y`` into an HDF5 file (``h5py``) and pass it with ``--file``.
"""
import argparse
import os
import sys

import dchain  # before h5py/NumPy: it sets each rank's BLAS threads (OMP_NUM_THREADS)

import h5py

import dchain.functions as F
import dchain.links as L
from dchain import datasets, distributed, optimizers, training
from dchain.training import extensions


class MLP(dchain.Chain):
    """in -> n_units -> n_units -> n_out with ReLU."""

    def __init__(self, n_units, n_out):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(None, n_units)
            self.l2 = L.Linear(None, n_units)
            self.l3 = L.Linear(None, n_out)

    def forward(self, x):
        return self.l3(F.relu(self.l2(F.relu(self.l1(x)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='dchain example: training from an HDF5 file')
    parser.add_argument('--file', default='mnist.h5',
                        help='the HDF5 file (train/x, train/y, test/x, test/y); written from '
                             'MNIST when missing')
    parser.add_argument('--source', choices=('bundled', 'full'), default='bundled',
                        help='where a missing --file is written from: the bundled 5,000 digits '
                             'or the full MNIST (downloaded)')
    parser.add_argument('--batchsize', '-b', type=int, default=100,
                        help='global mini-batch size (summed over ranks)')
    parser.add_argument('--epoch', '-e', type=int, default=5, help='epochs to train')
    parser.add_argument('--unit', '-u', type=int, default=300, help='units per hidden layer')
    parser.add_argument('--prefetch', type=int, default=2,
                        help='local batches each rank reads ahead (0: none)')
    parser.add_argument('--out', '-o', default='result', help='output folder (rank 0 writes)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the model and data order')
    args = parser.parse_args(argv)
    for name in ('batchsize', 'epoch', 'unit'):
        if getattr(args, name) <= 0:
            parser.error('--{} must be positive, got {}'.format(name, getattr(args, name)))
    if args.prefetch < 0:
        parser.error('--prefetch must be 0 or more, got {}'.format(args.prefetch))
    return args


def write_mnist(path, source):
    """Write MNIST (flattened float32 images, int32 labels) into the HDF5 file ``path``."""
    train, test = datasets.get_mnist(subset=source)
    temporary = path + '.tmp'
    with h5py.File(temporary, 'w') as file:
        for name, part in (('train', train), ('test', test)):
            x, y = part._datasets
            file.create_dataset(name + '/x', data=x, chunks=(min(256, len(x)), x.shape[1]))
            file.create_dataset(name + '/y', data=y)
    os.replace(temporary, path)  # no rank ever sees half a file


def main(argv=None):
    args = parse_args(argv)
    comm = distributed.create_communicator()
    if comm.rank == 0 and not os.path.exists(args.file):
        try:
            write_mnist(args.file, args.source)
        except OSError as error:  # the full MNIST could be neither found nor downloaded
            sys.exit('hdf5.py: cannot write {}: {}'.format(args.file, error))
        print('wrote {} from the {} MNIST'.format(args.file, args.source), flush=True)
    comm.barrier()  # every rank opens the file once it is complete

    train = datasets.HDF5Dataset(args.file, 'train/x', 'train/y')
    test = datasets.HDF5Dataset(args.file, 'test/x', 'test/y')
    dchain.random.seed(args.seed)
    model = L.Classifier(MLP(args.unit, 10))
    optimizer = distributed.create_multi_node_optimizer(optimizers.Adam(), comm)
    optimizer.setup(model)

    train_iter = distributed.ShardedIterator(train, args.batchsize, comm, seed=args.seed,
                                             n_prefetch=args.prefetch)
    test_iter = distributed.ShardedIterator(test, args.batchsize, comm, repeat=False,
                                            shuffle=False)
    updater = training.StandardUpdater(train_iter, optimizer)
    trainer = training.Trainer(updater, (args.epoch, 'epoch'), out=args.out)
    evaluator = extensions.Evaluator(test_iter, model)
    trainer.extend(distributed.create_multi_node_evaluator(evaluator, comm), name='validation')
    if comm.rank == 0:
        trainer.extend(extensions.LogReport())
        trainer.extend(extensions.PrintReport(
            ['epoch', 'main/loss', 'validation/main/accuracy', 'samples/sec', 'elapsed_time']))
    trainer.run()
    accuracy = trainer.observation.get('validation/main/accuracy')
    if accuracy is None:
        accuracy = evaluator()['validation/main/accuracy']
    if comm.rank == 0:
        print('rank 0 of {} read {} training examples from the file (its shares, and the '
              'batches read ahead)'.format(comm.size, train.rows_read))
        print('final validation accuracy: {:.4f}'.format(float(accuracy)), flush=True)
    return float(accuracy)


if __name__ == '__main__':
    sys.exit(0 if main() is not None else 1)
