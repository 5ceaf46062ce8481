#!/usr/bin/env python
"""Two costs inside the 2-rank data-parallel step (dp-2's mlp-large, Adam, 100 samples per
rank): the agreement check of every collective, and the single gradient buffer.

    OMP_NUM_THREADS=1 mpirun -n 2 python bench/dp_step.py [--steps 25] [--rounds 8]

One job times versions of the same 2-rank step, alternated block by block so that the
machine's load falls on all of them alike:

- 'dchain': the step as it is (every collective agrees on its header first; the gradients
  are reduced in the optimizer's own flat buffer, FlatParameters.grad, that the fused update
  reads);
- 'unchecked': the same with the communicator's check_collective replaced by a counter;
- 'second buffer': the same with the gradients copied into a separate per-dtype buffer for
  the allreduce, as before the single buffer;
- 'check alone': one agreement check.

Rank 0 prints the medians and the ratios of the medians; the per-check time times the checks
per step is a second, independent estimate of the check's cost. (These variants exist for
this measurement only.)
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'workers'))
sys.path.insert(0, os.path.dirname(HERE))

import protocol  # noqa: E402  (sets one thread per process before NumPy loads)

import numpy  # noqa: E402

import dchain  # noqa: E402
import dchain.functions as F  # noqa: E402
import dchain.links as L  # noqa: E402
from dchain import distributed, optimizers  # noqa: E402
from dchain.distributed.optimizer import _GradientBuffer  # noqa: E402

import chainer_like  # noqa: E402


class UncheckedCommunicator(distributed.MpiCommunicator):
    """The MPI communicator with the header check replaced by a call counter (a payload that
    would ride on the header travels in a plain allreduce of its own)."""

    def check_collective(self, operation, dtype=None, count=None, root=None, reduction=None,
                         tag=0, announce=None, payload=None):
        self._calls += 1
        if announce is not None:
            self._announced = (numpy.dtype(announce[0]), int(announce[1]))
        if payload is not None:
            self._wait(self._comm.Iallreduce(self._MPI.IN_PLACE, payload, self._MPI.SUM),
                       operation, self._calls)
        return self._calls


class SecondBufferOptimizer(distributed.MultiNodeOptimizer):
    """Reduces the gradients in a buffer of its own instead of the fused update's."""

    def _grad_buffers(self, params):
        if self._buffer is None or not self._buffer.matches(params):
            self._buffer = _GradientBuffer(params)
        self._buffer.gather_grads()
        return self._buffer.flats()


def make_step(comm, x, t, wrapper=distributed.MultiNodeOptimizer):
    dchain.random.seed(0)
    model = chainer_like.make_model(dchain, F, L, 'dp-2')
    optimizer = wrapper(optimizers.Adam(), comm).setup(model)

    def step():
        optimizer.update(lambda: F.softmax_cross_entropy(model(x), t))
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=25, help='steps per block')
    parser.add_argument('--rounds', type=int, default=8, help='blocks per version')
    args = parser.parse_args()
    from mpi4py import MPI
    world = MPI.COMM_WORLD
    x, t = protocol.random_data(numpy, 'dp-2')
    checked_comm = distributed.create_communicator('mpi', mpi_comm=world)
    unchecked_comm = UncheckedCommunicator(world)
    steps = {'dchain': make_step(checked_comm, x, t),
             'unchecked': make_step(unchecked_comm, x, t),
             'second buffer': make_step(checked_comm, x, t, SecondBufferOptimizer)}

    def check_only():
        checked_comm.check_collective('allreduce', 'float32', 8)
    steps['check alone'] = check_only
    steps['dchain']()  # the first update also checks and broadcasts the model
    before = checked_comm._calls
    steps['dchain']()
    per_step = checked_comm._calls - before
    times = protocol.dp_phases(world, steps, args.rounds, args.steps, 3)
    if world.Get_rank() != 0:
        return
    medians = {name: statistics.median(values) * 1e3 for name, values in times.items()}
    cost = medians['dchain'] / medians['unchecked'] - 1
    estimate = per_step * medians['check alone'] / medians['unchecked']
    print('dp-2 (mlp-large, Adam, 2 ranks, 100 samples per rank), {} blocks of {} steps per '
          'version, alternated; medians:'.format(args.rounds, args.steps))
    for name in ('dchain', 'unchecked', 'second buffer', 'check alone'):
        print('  {:<14} {:9.3f} ms'.format(name, medians[name]))
    print('  agreement check: dchain / unchecked - 1: {:+.2%}'.format(cost))
    print('  agreement check: {} collectives per step (their checks: one round trip) x check '
          'alone / step: {:.2%}'.format(per_step, estimate))
    print('  single buffer: dchain / second buffer - 1: {:+.2%}'.format(
        medians['dchain'] / medians['second buffer'] - 1))
    print('  at {}'.format(time.strftime('%Y-%m-%d %H:%M')))


if __name__ == '__main__':
    main()
