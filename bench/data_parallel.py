#!/usr/bin/env python
"""The data-parallel features side by side: one mpirun job, phases alternated block by block.

    OMP_NUM_THREADS=1 mpirun -n 2 python bench/data_parallel.py [--blocks 7] [--steps 15]

mlp-large (784-1000-1000-10, ReLU, Adam), 100 samples per rank per step (``--per-rank``).
Phases:

- ``1 rank, other idle``: rank 0 steps alone (the 'single' communicator) while rank 1 sleeps;
- ``1 rank, both ranks``: both ranks step alone at once (the same sharing of the machine as
  two ranks, no exchange);
- ``2 ranks``: the data-parallel step (float32 exchange);
- ``2 ranks, float16 exchange``: ``allreduce_grad_dtype='float16'``;
- ``2 ranks, timeline on``: the step while ``extensions.Timeline`` records;
- ``2 ranks, accumulate 4``: ``micro_batches=4`` (4 quarters of the batch, one exchange);
- ``2 ranks, sharded state``: ``shard_optimizer_state=True`` (ZeRO-1);
- ``4 micro steps, no exchange``: four full steps of a quarter of the batch each on both
  ranks at once;
- ``Allreduce``: one in-place allreduce of the 1.8 M float32 gradient through dchain's
  communicator.

Prints each phase's median ms per step (rank 0's) with its quartiles, and the ratios with their
targets (docs/performance.md). The machine is shared: read medians and ratios, not single numbers.
"""
import argparse
import statistics
import sys
import time

import numpy

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import _timeline, distributed, optimizers


class MLP(dchain.Chain):
    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(784, 1000)
            self.l2 = L.Linear(1000, 1000)
            self.l3 = L.Linear(1000, 10)

    def forward(self, x):
        return self.l3(F.relu(self.l2(F.relu(self.l1(x)))))


def make(comm, micro_batches=1, shard=False):
    dchain.random.seed(0)
    model = L.Classifier(MLP())
    optimizer = distributed.create_multi_node_optimizer(optimizers.Adam(), comm,
                                                        micro_batches=micro_batches,
                                                        shard_optimizer_state=shard)
    optimizer.setup(model)
    return model, optimizer


def state_bytes(optimizer):
    """Bytes of optimizer state this rank holds."""
    if optimizer._shards is not None:
        return sum(array.nbytes for array in optimizer._shards.state.values())
    return sum(value.nbytes for param in optimizer.target.params()
               for value in (param.update_rule.state or {}).values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--blocks', type=int, default=7)
    parser.add_argument('--steps', type=int, default=15)
    parser.add_argument('--per-rank', type=int, default=100,
                        help='samples per rank per step (a multiple of 4; the exchange stays '
                        '7.2 MB whatever the batch)')
    args = parser.parse_args(argv)
    if args.per_rank < 4 or args.per_rank % 4:
        parser.error('--per-rank must be a positive multiple of 4, got {}'.format(args.per_rank))
    from mpi4py import MPI
    world = MPI.COMM_WORLD
    comm = distributed.create_communicator('mpi')
    if comm.size != 2:
        sys.exit('run with mpirun -n 2')
    comm16 = distributed.create_communicator('mpi', allreduce_grad_dtype='float16')
    single = distributed.create_communicator('single')
    rng = numpy.random.default_rng(comm.rank)
    n = args.per_rank
    x = rng.standard_normal((n, 784)).astype(numpy.float32)
    t = rng.integers(0, 10, n).astype(numpy.int32)
    setups = {
        '1 rank, other idle': make(single),
        '1 rank, both ranks': make(single),
        '2 ranks': make(comm),
        '2 ranks, float16 exchange': make(comm16),
        '2 ranks, timeline on': make(comm),
        '2 ranks, accumulate 4': make(comm, micro_batches=4),
        '2 ranks, sharded state': make(comm, shard=True),
        '4 micro steps, no exchange': make(single),
    }
    gradient = numpy.ones(sum(p.size for p in setups['2 ranks'][0].params()), numpy.float32)
    recorder = _timeline.Recorder(synchronize=False)

    def step(name):
        if name == 'Allreduce':
            comm.allreduce_inplace(gradient)
            return
        model, optimizer = setups[name]
        if name == '4 micro steps, no exchange':
            quarter = len(x) // 4
            for part in range(4):
                piece = slice(quarter * part, quarter * (part + 1))
                optimizer.update(model, x[piece], t[piece])
        else:
            optimizer.update(model, x, t)

    names = list(setups) + ['Allreduce']
    times = {name: [] for name in names}
    for block in range(args.blocks + 1):  # block 0 warms up
        order = names[block % len(names):] + names[:block % len(names)]
        for name in order:
            world.Barrier()
            if name == '1 rank, other idle' and comm.rank == 1:
                request = world.Ibarrier()
                while not request.Test():
                    time.sleep(0.005)  # idle, not spinning
                continue
            if name == '2 ranks, timeline on':
                _timeline.start(recorder)
            for _ in range(args.steps):
                start = time.perf_counter()
                step(name)
                times[name].append(time.perf_counter() - start)
            if name == '2 ranks, timeline on':
                _timeline.stop(recorder)
                recorder.take()
            if block == 0:
                times[name].clear()
            if name == '1 rank, other idle':
                world.Ibarrier().Wait()
    if comm.rank != 0:
        return
    medians = {}
    print('phase | median ms | quartiles')
    for name in names:
        samples = sorted(times[name])
        medians[name] = statistics.median(samples) * 1e3
        quartiles = statistics.quantiles(samples, n=4)
        print('{} | {:.2f} | {:.2f}-{:.2f}'.format(name, medians[name], quartiles[0] * 1e3,
                                                   quartiles[2] * 1e3))
    one, both, two = medians['1 rank, other idle'], medians['1 rank, both ranks'], \
        medians['2 ranks']
    ratios = [
        ('2-rank step / 1-rank step (other idle)', two / one, '<= 1.10'),
        ('2-rank step / 1-rank step on both ranks at once', two / both, '-'),
        ('(2-rank - 1-rank step) / Allreduce', (two - one) / medians['Allreduce'], '<= 1.2'),
        ('2 ranks float16 exchange / float32 exchange',
         medians['2 ranks, float16 exchange'] / two, '-'),
        ('accumulate 4 / 4 micro steps without exchange',
         medians['2 ranks, accumulate 4'] / medians['4 micro steps, no exchange'], '<= 1.05'),
        ('timeline on / off', medians['2 ranks, timeline on'] / two, '<= 1.02'),
        ('2 ranks sharded state / 1-rank step (other idle)',
         medians['2 ranks, sharded state'] / one, '<= 1.0'),
        ('2 ranks sharded state / 2 ranks unsharded', medians['2 ranks, sharded state'] / two,
         '-'),
        ('optimizer state per rank, sharded / unsharded', state_bytes(
            setups['2 ranks, sharded state'][1]) / state_bytes(setups['2 ranks'][1]), '<= 0.55'),
    ]
    print()
    print('ratio | value | target')
    for label, value, target in ratios:
        print('{} | {:.3f} | {}'.format(label, value, target))


if __name__ == '__main__':
    main()
