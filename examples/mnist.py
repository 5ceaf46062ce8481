#!/usr/bin/env python
"""Train a multi-layer perceptron on MNIST, on one process or on N ranks.

    python examples/mnist.py                      # one process, the CPU
    mpirun -n 4 python examples/mnist.py          # 4 ranks, same global batch, same result
    python examples/mnist.py --device @cupy:0     # one GPU; under mpirun each rank takes
                                                  # GPU intra_rank of its node

Long runs: ``--resume auto`` continues from the newest snapshot in ``--out`` (or starts afresh
when there is none), on any number of ranks. SIGTERM or SIGUSR1 (a batch system ending the job)
or Ctrl-C stops at the next step with a snapshot and exit status 75; the same command with
``--resume auto`` then goes on where it stopped (see docs/launch.md).

``--batchsize`` is the GLOBAL batch: every rank reads its slice of each global batch, so the
updates do not depend on the number of ranks. Rank 0 alone prints and writes files. Without the
full MNIST (no network, nothing in $DCHAIN_DATASET_ROOT), a bundled subset of 5,000 real digits
is used, with a warning.
"""
import argparse
import os
import sys
import warnings

import dchain  # before NumPy: it sets each rank's BLAS threads (OMP_NUM_THREADS)

import numpy

import dchain.functions as F
import dchain.links as L
from dchain import datasets, distributed, optimizers, serializers, training
from dchain.training import extensions


class MLP(dchain.Chain):
    """784 -> n_units -> n_units -> n_out with ReLU (and batch normalization with ``bn``)."""

    def __init__(self, n_units, n_out, bn=False):
        super().__init__()
        self.dtype = dchain.get_dtype()  # float16 under mixed16
        with self.init_scope():
            self.l1 = L.Linear(None, n_units)
            self.l2 = L.Linear(None, n_units)
            self.l3 = L.Linear(None, n_out)
            if bn:
                self.bn1 = L.BatchNormalization(n_units)
                self.bn2 = L.BatchNormalization(n_units)
        self.bn = bn

    def forward(self, x):
        if x.dtype != self.dtype:
            x = F.cast(x, self.dtype)
        h1 = self.l1(x)
        h1 = F.relu(self.bn1(h1) if self.bn else h1)
        h2 = self.l2(h1)
        h2 = F.relu(self.bn2(h2) if self.bn else h2)
        return self.l3(h2)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='dchain example: MNIST')
    parser.add_argument('--batchsize', '-b', type=int, default=100,
                        help='global mini-batch size (summed over ranks)')
    parser.add_argument('--epoch', '-e', type=int, default=20, help='epochs to train')
    parser.add_argument('--unit', '-u', type=int, default=1000, help='units per hidden layer')
    parser.add_argument('--device', '-d', default='-1',
                        help="'-1' or '@numpy' for the CPU, '0' or '@cupy:0' for a GPU, 'gpu' "
                             "for GPU intra_rank of each rank's node")
    parser.add_argument('--allow-shared-gpu', action='store_true',
                        help='let more ranks than GPUs share a node\'s GPUs')
    parser.add_argument('--out', '-o', default='result', help='output folder (rank 0 writes)')
    parser.add_argument('--resume', '-r', default='',
                        help="snapshot to resume from, or 'auto': the newest snapshot in --out "
                             "that loads (none: start afresh)")
    parser.add_argument('--data-dir', default=None,
                        help='dataset cache folder (default $DCHAIN_DATASET_ROOT or '
                             '~/.dchain/dataset)')
    parser.add_argument('--dataset', choices=('mnist', 'fashion-mnist'), default='mnist')
    parser.add_argument('--seed', type=int, default=0, help='seed of the model and data order')
    parser.add_argument('--frequency', '-f', type=int, default=-1,
                        help='snapshot every this many epochs (-1: at the end only)')
    parser.add_argument('--communicator', default='auto',
                        help="'auto', 'single', 'mpi' or 'nccl'")
    parser.add_argument('--dtype', choices=('float32', 'float16', 'mixed16', 'float64'),
                        default=None,
                        help='default: $DCHAIN_DTYPE or float32; mixed16: float16 parameters '
                             'and activations, updated through float32 master copies with '
                             'dynamic loss scaling')
    parser.add_argument('--accumulate', type=int, default=1, metavar='K',
                        help="process each rank's share of a global batch in K micro-batches "
                             'whose gradients add up before one exchange and update (the same '
                             'update, less memory for activations)')
    parser.add_argument('--shard-optimizer-state', action='store_true',
                        help="ZeRO stage 1: each rank keeps and updates 1/N of Adam's state "
                             '(the same updates; snapshots hold the whole state)')
    parser.add_argument('--overlap', action='store_true',
                        help='exchange the gradients in buckets during backward (see '
                             'docs/performance.md for when it helps)')
    parser.add_argument('--allreduce-grad-dtype', choices=('float16', 'float32', 'float64'),
                        default=None, help='exchange the gradients in this dtype (float16: '
                                           'half the bytes)')
    parser.add_argument('--aggregate-metrics', action='store_true',
                        help='log main/loss and main/accuracy averaged over all ranks (each '
                             "rank's share of the global batch) instead of rank 0's share")
    parser.add_argument('--timeline', default='', metavar='FILE',
                        help='write the forward, backward, exchange and update of every step '
                             'of every rank to FILE in the output folder, as a Chrome trace '
                             '(chrome://tracing, ui.perfetto.dev)')
    parser.add_argument('--bn', action='store_true',
                        help='batch normalization after each hidden layer, synchronized over '
                             'the ranks (statistics of the global batch)')
    args = parser.parse_args(argv)
    if args.batchsize <= 0:
        parser.error('--batchsize must be positive, got {}'.format(args.batchsize))
    if args.accumulate <= 0:
        parser.error('--accumulate must be positive, got {}'.format(args.accumulate))
    if args.epoch <= 0:
        parser.error('--epoch must be positive, got {}'.format(args.epoch))
    if args.resume and args.resume != 'auto' and not os.path.isfile(args.resume):
        parser.error('--resume: no such snapshot file: {}'.format(args.resume))
    return args


def load_data(args, comm):
    if args.data_dir:
        os.environ['DCHAIN_DATASET_ROOT'] = args.data_dir
    with warnings.catch_warnings():
        if comm.rank != 0:
            warnings.simplefilter('ignore', datasets.DatasetFallbackWarning)
        if args.dataset == 'mnist':
            return datasets.get_mnist()
        return datasets.get_fashion_mnist()


def main(argv=None):
    args = parse_args(argv)
    if args.dtype is None:
        dtype = dchain.config.dtype
    else:
        dtype = dchain.mixed16 if args.dtype == 'mixed16' else numpy.dtype(args.dtype)
    with dchain.using_config('dtype', dtype):
        return train(args)


def train(args):
    comm = distributed.create_communicator(args.communicator,
                                           allreduce_grad_dtype=args.allreduce_grad_dtype)
    device = distributed.rank_device(comm, args.device, args.allow_shared_gpu)
    summary = distributed.describe(comm, device)  # collective: every rank takes part
    if comm.rank == 0:
        print(summary, flush=True)

    dchain.random.seed(args.seed)
    model = L.Classifier(MLP(args.unit, 10, bn=args.bn))
    if args.bn:
        # Every BatchNormalization computes its statistics over the global batch, so N ranks
        # train as one process with the same global batch would.
        model = distributed.create_mnbn_model(model, comm)
    model.to_device(device)
    optimizer = distributed.create_multi_node_optimizer(
        optimizers.Adam(), comm, micro_batches=args.accumulate,
        shard_optimizer_state=args.shard_optimizer_state, overlap=args.overlap)
    optimizer.setup(model)
    if dchain.config.dtype is dchain.mixed16:
        optimizer.use_fp32_update()
        optimizer.loss_scaling()

    train, test = load_data(args, comm)
    train_iter = distributed.ShardedIterator(train, args.batchsize, comm, seed=args.seed)
    test_iter = distributed.ShardedIterator(test, args.batchsize, comm, repeat=False,
                                            shuffle=False)

    updater = training.StandardUpdater(train_iter, optimizer, device=device)
    trainer = training.Trainer(updater, (args.epoch, 'epoch'), out=args.out)
    evaluator = extensions.Evaluator(test_iter, model, device=device)
    trainer.extend(distributed.create_multi_node_evaluator(evaluator, comm), name='validation')
    # the extensions that exchange between ranks run on every rank
    if args.aggregate_metrics:
        for key in ('main/loss', 'main/accuracy'):
            trainer.extend(distributed.ObservationAggregator(comm, key), name='mean ' + key)
    if args.timeline:
        trainer.extend(extensions.Timeline(args.timeline, comm=comm))
    if comm.rank == 0:
        frequency = args.epoch if args.frequency == -1 else max(1, args.frequency)
        trainer.extend(extensions.snapshot(n_retains=2, autoload=args.resume == 'auto'),
                       trigger=(frequency, 'epoch'))
        trainer.extend(extensions.LogReport())
        trainer.extend(extensions.PlotReport(['main/loss', 'validation/main/loss'], 'epoch',
                                             file_name='loss.png'))
        trainer.extend(extensions.PlotReport(['main/accuracy', 'validation/main/accuracy'],
                                             'epoch', file_name='accuracy.png'))
        trainer.extend(extensions.PrintReport(
            ['epoch', 'main/loss', 'validation/main/loss', 'main/accuracy',
             'validation/main/accuracy', 'elapsed_time']))
        trainer.extend(extensions.ProgressBar())
    if args.resume and args.resume != 'auto':
        try:
            serializers.load_npz(args.resume, trainer)
        except (OSError, ValueError, KeyError, TypeError) as error:
            sys.exit('mnist.py: --resume {}: not a snapshot of this run: {}'.format(
                args.resume, error))

    trainer.run()

    accuracy = trainer.observation.get('validation/main/accuracy')
    if accuracy is None:
        accuracy = evaluator()['validation/main/accuracy']
    if comm.rank == 0:
        serializers.save_npz(os.path.join(args.out, 'model.npz'), model)
        print('final validation accuracy: {:.4f}'.format(float(accuracy)), flush=True)
    return float(accuracy)


if __name__ == '__main__':
    sys.exit(0 if main() is not None else 1)
