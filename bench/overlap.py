#!/usr/bin/env python
"""Overlap of the gradient exchange with backward, on vs off: one mpirun job, phases
alternated block by block.

    OMP_NUM_THREADS=1 mpirun -n 2 python bench/overlap.py [--blocks 7] [--steps 15]

mlp-large (784-1000-1000-10, ReLU, Adam; 7.2 MB of float32 gradients), 100 samples per rank
per step. Phases: ``overlap off``; ``overlap, 25 MB buckets`` (the default size: one bucket
for this model, started when backward ends); ``overlap, 1 MB buckets`` (the
started ones tested between backward nodes); ``overlap, 1 MB buckets, untested`` (started
and waited for only, so MPI progresses them only inside the final wait). Prints each phase's
median ms per step (rank 0's) with its quartiles, and the median ms the update waited for
the buckets after backward.
"""
import argparse
import statistics
import sys
import time

import numpy

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import distributed, optimizers
from dchain.distributed import overlap


class MLP(dchain.Chain):
    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(784, 1000)
            self.l2 = L.Linear(1000, 1000)
            self.l3 = L.Linear(1000, 10)

    def forward(self, x):
        return self.l3(F.relu(self.l2(F.relu(self.l1(x)))))


PHASES = {'overlap off': {},
          'overlap, 25 MB buckets': {'overlap': True},
          'overlap, 1 MB buckets': {'overlap': True, 'bucket_mb': 1},
          'overlap, 1 MB buckets, untested': {'overlap': True, 'bucket_mb': 1}}


def make(comm, options):
    dchain.random.seed(0)
    model = L.Classifier(MLP())
    optimizer = distributed.create_multi_node_optimizer(optimizers.Adam(), comm, **options)
    optimizer.setup(model)
    return model, optimizer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--blocks', type=int, default=7)
    parser.add_argument('--steps', type=int, default=15)
    args = parser.parse_args(argv)
    from mpi4py import MPI
    world = MPI.COMM_WORLD
    comm = distributed.create_communicator('mpi')
    if comm.size != 2:
        sys.exit('run with mpirun -n 2')
    rng = numpy.random.default_rng(comm.rank)
    x = rng.standard_normal((100, 784)).astype(numpy.float32)
    t = rng.integers(0, 10, 100).astype(numpy.int32)
    setups = {name: make(comm, options) for name, options in PHASES.items()}
    waits = []
    finish = overlap.OverlappedExchange.finish

    def timed_finish(self):
        start = time.perf_counter()
        finish(self)
        waits.append(time.perf_counter() - start)

    overlap.OverlappedExchange.finish = timed_finish
    names = list(PHASES)
    times = {name: [] for name in names}
    waited = {name: [] for name in names}
    for block in range(args.blocks + 1):  # block 0 warms up
        order = names[block % len(names):] + names[:block % len(names)]
        for name in order:
            model, optimizer = setups[name]
            overlap.TEST_BETWEEN_NODES = not name.endswith('untested')
            world.Barrier()
            for _ in range(args.steps):
                del waits[:]
                start = time.perf_counter()
                optimizer.update(model, x, t)
                if block:
                    times[name].append(time.perf_counter() - start)
                    waited[name].extend(waits)
    if comm.rank != 0:
        return
    print('buckets: {}'.format(', '.join('{} {}'.format(
        name, len(setups[name][1]._plan.buckets)) for name in names[1:])))
    print('phase | median ms per step | quartiles | median ms waiting for buckets')
    for name in names:
        samples = sorted(times[name])
        quartiles = statistics.quantiles(samples, n=4)
        wait = '{:.2f}'.format(statistics.median(waited[name]) * 1e3) if waited[name] else '-'
        print('{} | {:.2f} | {:.2f}-{:.2f} | {}'.format(
            name, statistics.median(samples) * 1e3, quartiles[0] * 1e3, quartiles[2] * 1e3,
            wait))
    off = statistics.median(times['overlap off'])
    print()
    for name in names[1:]:
        print('{} / overlap off | {:.3f}'.format(name, statistics.median(times[name]) / off))


if __name__ == '__main__':
    main()
