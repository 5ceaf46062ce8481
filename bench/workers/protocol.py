"""What every benchmark worker shares: the model shapes, the timing loop and the serve loop.

A worker is started once per (framework, row) by ``bench/run.py`` and then answers JSON lines
on stdin, one reply line each on stdout, so the runner can alternate frameworks step block by
step block without paying imports again:

    {"op": "build", "row": "mlp-large"}       -> {"ok": true, "info": {...}}
    {"op": "time", "steps": 40, "warmup": 5}  -> {"times": [...], "minflt": ..., "maxrss_kib": ...}
    {"op": "quit"}

This module runs under every framework's interpreter (Chainer's venv has NumPy 1.x), so it
imports nothing but the standard library at the top.
"""
import json
import os
import resource
import sys
import time
import traceback

# One thread per process: set before any worker imports NumPy or a framework.
for _name in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS',
              'VECLIB_MAXIMUM_THREADS', 'NUMEXPR_NUM_THREADS'):
    os.environ.setdefault(_name, '1')

# The architectures of the rows: layer sizes, batch and optimizer.
MLP_ROWS = {
    'mlp-large': dict(sizes=(784, 1000, 1000, 10), batch=100, optimizer='adam'),
    'mlp-small': dict(sizes=(784, 100, 100, 10), batch=32, optimizer='adam'),
    # Forward and backward only (no update): the per-op cost of the framework.
    'overhead': dict(sizes=(784, 100, 10), batch=32, optimizer=None),
    'overhead-tiny': dict(sizes=(16, 16, 10), batch=1, optimizer=None),
}
CNN_ROW = dict(batch=64, optimizer='momentum')
# The ops of one overhead step: linear, relu, linear, softmax_cross_entropy, and their four
# backward nodes.
OVERHEAD_OPS = 8
# The gradient of mlp-large in float32 values (W and b of its three layers).
MLP_LARGE_PARAMS = 784 * 1000 + 1000 + 1000 * 1000 + 1000 + 1000 * 10 + 10


def random_data(numpy, row):
    """The same random MNIST-shaped inputs and labels for every framework."""
    rng = numpy.random.RandomState(0)
    if row == 'cnn':
        x = rng.rand(CNN_ROW['batch'], 1, 28, 28).astype(numpy.float32)
    else:
        spec = MLP_ROWS['mlp-large' if row.startswith('dp') else row]
        x = rng.rand(spec['batch'], spec['sizes'][0]).astype(numpy.float32)
    t = rng.randint(0, 10, len(x)).astype(numpy.int32)
    return x, t


def time_steps(step, steps, warmup):
    """Run ``warmup`` steps, then time ``steps`` steps one by one (seconds each)."""
    for _ in range(warmup):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF)
    times = []
    clock = time.perf_counter
    for _ in range(steps):
        start = clock()
        step()
        times.append(clock() - start)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {'times': times,
            'minflt_per_step': (after.ru_minflt - before.ru_minflt) / max(steps, 1),
            'maxrss_kib': after.ru_maxrss}


def serve(build, info):
    """Answer the runner's commands until 'quit' or end of input.

    ``build(row)`` returns a step function (or raises); ``info()`` returns a dict of versions.
    """
    step = None
    out = sys.stdout
    # Replies go to the real stdout; anything a framework prints goes to stderr instead.
    sys.stdout = sys.stderr
    for line in sys.stdin:
        try:
            command = json.loads(line)
            op = command['op']
            if op == 'quit':
                break
            if op == 'build':
                step = build(command['row'])
                reply = {'ok': True, 'info': info()}
            elif op == 'time':
                if step is None:
                    raise RuntimeError('time before build')
                reply = time_steps(step, int(command['steps']), int(command.get('warmup', 3)))
            else:
                raise ValueError('unknown op {!r}'.format(op))
        except Exception as error:  # reported to the runner, which shows it
            reply = {'error': '{}: {}'.format(type(error).__name__, error),
                     'traceback': traceback.format_exc()}
        out.write(json.dumps(reply) + '\n')
        out.flush()


def wait_for_others(mpi_comm):
    """Wait at a barrier without spinning (an MPI barrier busy-polls a core)."""
    request = mpi_comm.Ibarrier()
    while not request.Test():
        time.sleep(0.0005)


def dp_phases(mpi_comm, phases, rounds, steps, warmup):
    """Time the data-parallel phases, alternating them for ``rounds`` rounds.

    ``phases`` maps a name to (step or None on a rank that sits out, participating ranks).
    A rank that sits out a phase waits without spinning. Returns, on every rank, the name to
    this rank's per-step times, pooled over rounds.
    """
    names = list(phases)
    result = {name: [] for name in names}
    clock = time.perf_counter
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            step = phases[name]
            mpi_comm.Barrier()
            if step is None:
                wait_for_others(mpi_comm)
                continue
            for _ in range(warmup):
                step()
            times = []
            for _ in range(steps):
                start = clock()
                step()
                times.append(clock() - start)
            result[name].extend(times)
            wait_for_others(mpi_comm)
    return result


def raw_allreduce(numpy, mpi_comm, MPI):
    """A step function: one in-place Allreduce of mlp-large's gradient bytes (float32)."""
    buffer = numpy.ones(MLP_LARGE_PARAMS, numpy.float32)

    def step():
        mpi_comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
    return step


def report(mpi_comm, result, info):
    """Rank 0 prints one JSON line with the result and the versions."""
    if mpi_comm.Get_rank() == 0:
        sys.stdout.write(json.dumps({'phases': result, 'info': info}) + '\n')
        sys.stdout.flush()


def main(build, info, dp=None):
    """The worker's entry point: ``--serve`` (the default) answers the runner; ``--dp STEPS
    ROUNDS WARMUP`` (under mpirun) times the phases that ``dp(mpi_comm, MPI)`` returns."""
    if len(sys.argv) > 1 and sys.argv[1] == '--dp':
        if dp is None:
            sys.exit('this worker has no dp-2 row')
        steps, rounds, warmup = (int(value) for value in sys.argv[2:5])
        from mpi4py import MPI
        mpi_comm = MPI.COMM_WORLD
        phases = dp(mpi_comm, MPI)
        result = dp_phases(mpi_comm, phases, rounds, steps, warmup)
        report(mpi_comm, result, info())
        return
    serve(build, info)
