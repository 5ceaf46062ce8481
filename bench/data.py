#!/usr/bin/env python
"""dchain's data rows: an HDF5 epoch on 2 ranks against h5py alone, and prefetching.

    OMP_NUM_THREADS=1 python bench/data.py [--rows hdf5-epoch,prefetch] [--repeats 3]
                                           [--size-mb 350] [--write-docs] [--json out.json]

hdf5-epoch: ``mpirun -n 2`` reads one shuffled epoch of a float32 HDF5 file of ``--size-mb``
(784 values and a label per example, written once into ``--dir``) through
``ShardedIterator(HDF5Dataset)`` and the converter, against the same sorted batch reads done
with h5py alone; the two alternate, and an epoch's time is the slower rank's. It also checks
that the ranks together read every example exactly once and records how much each rank's
resident memory grew.

prefetch: one process trains a 784-1000-1000-10 MLP (Adam, batch 100) on in-memory data, and
on a dataset whose reading is made to cost about one training step per batch: waiting (once
per batch through ``take``, like reading a file) or computing in Python per example (like
decoding). Each is read by SerialIterator (no
prefetching), and ahead by ShardedIterator(n_prefetch=2) or MultithreadIterator (waiting) and
MultiprocessIterator (computing). The variants alternate block by block; medians are reported.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
READ_SHARE = 0.9  # the cost of reading a batch, as a share of the fastest in-memory step
START, END = '<!-- bench/data.py results: start -->', '<!-- bench/data.py results: end -->'


def rss_mib():
    with open('/proc/self/statm') as file:
        return int(file.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2 ** 20


# -- hdf5-epoch: runs inside mpirun ----------------------------------------------------------
def hdf5_worker(path, batch, repeats):
    import h5py
    from dchain import distributed
    from dchain.dataset import concat_examples
    from dchain.datasets import HDF5Dataset
    from dchain.distributed.iterators import shard_bounds
    comm = distributed.create_communicator('mpi')

    def dchain_epoch(seed):
        dataset = HDF5Dataset(path, 'x', 'y')
        iterator = distributed.ShardedIterator(dataset, batch, comm, seed=seed, repeat=False)
        start_rss = peak = rss_mib()
        for examples in iterator:
            concat_examples(examples)
            peak = max(peak, rss_mib())
        dataset.close()
        return {'rows': dataset.rows_read, 'growth_mib': peak - start_rss}

    def h5py_epoch(seed):
        with h5py.File(path, 'r') as file:
            x, y = file['x'], file['y']
            n = len(x)
            order = numpy.random.default_rng([seed, 0]).permutation(n)
            for start in range(0, n, batch):
                indices = order[start:start + batch]
                first, last = shard_bounds(len(indices), comm.size, comm.rank)
                local = numpy.sort(indices[first:last])
                if len(local):
                    x[local], y[local]
        return {}

    results = {'dchain': [], 'h5py': []}
    h5py_epoch(99)  # warm the page cache and the imports
    for repeat in range(repeats):
        order = ('dchain', 'h5py') if repeat % 2 == 0 else ('h5py', 'dchain')
        for name in order:
            comm.barrier()
            started = time.perf_counter()
            info = (dchain_epoch if name == 'dchain' else h5py_epoch)(repeat)
            elapsed = time.perf_counter() - started
            gathered = comm.allgather_obj(dict(info, seconds=elapsed))
            results[name].append(gathered)
    if comm.rank == 0:
        print('RESULT ' + json.dumps(results))


def run_hdf5(args, say):
    import h5py
    n = int(args.size_mb * 2 ** 20 // (784 * 4 + 4))
    path = os.path.join(args.dir, 'bench-{}.h5'.format(n))
    if not os.path.exists(path):
        say('writing {} examples ({:.0f} MB) to {}'.format(n, n * 3140 / 1e6, path))
        rng = numpy.random.default_rng(0)
        with h5py.File(path + '.tmp', 'w') as file:
            x = file.create_dataset('x', (n, 784), numpy.float32)
            for start in range(0, n, 10000):
                stop = min(start + 10000, n)
                x[start:stop] = rng.random((stop - start, 784), dtype=numpy.float32)
            file['y'] = numpy.arange(n, dtype=numpy.int32)
        os.replace(path + '.tmp', path)
    mpirun = os.path.join(os.path.dirname(sys.executable), 'mpirun')
    command = [mpirun if os.path.exists(mpirun) else 'mpirun', '-n', '2', sys.executable,
               os.path.abspath(__file__), '--hdf5-worker', path, '--batch', str(args.batch),
               '--repeats', str(args.repeats)]
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    output = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    raw = json.loads(output.split('RESULT ', 1)[1])
    epochs = {name: [max(rank['seconds'] for rank in run) for run in runs]
              for name, runs in raw.items()}
    once = all(sum(rank['rows'] for rank in run) == n for run in raw['dchain'])
    growth = max(rank['growth_mib'] for run in raw['dchain'] for rank in run)
    return {'examples': n, 'file_mb': os.path.getsize(path) / 1e6, 'batch': args.batch,
            'epoch_s': epochs, 'every_example_once': once, 'rss_growth_mib': growth,
            'batch_mib': args.batch / 2 * 785 * 4 / 2 ** 20}


# -- prefetch --------------------------------------------------------------------------------
class Costly:
    """MNIST-shaped examples whose reading costs ``cost`` seconds each: waiting (like a file
    read: one wait per batch, through ``take``, as HDF5Dataset reads) or computing in Python
    (like decoding an image: per example)."""

    def __init__(self, x, t, cost, kind):
        self.x, self.t, self.cost, self.kind = x, t, cost, kind

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        if self.kind == 'wait':
            time.sleep(self.cost)
        else:
            deadline = time.perf_counter() + self.cost
            scratch = numpy.arange(64.)
            while time.perf_counter() < deadline:
                numpy.sqrt(scratch, out=scratch)
        return self.x[i], self.t[i]

    def take(self, indices):
        if self.kind != 'wait':
            return [self[i] for i in indices.tolist()]
        from dchain.dataset.convert import gathered
        time.sleep(self.cost * len(indices))
        x, t = self.x[indices], self.t[indices]
        return gathered(list(zip(x, t)), (x, t))  # batch arrays, as HDF5Dataset.take gives


def run_prefetch(args, say):
    import dchain
    import dchain.functions as F
    import dchain.links as L
    from dchain import distributed, iterators, optimizers
    from dchain.dataset import concat_examples
    from dchain.datasets import TupleDataset

    class MLP(dchain.Chain):
        def __init__(self):
            super().__init__()
            with self.init_scope():
                self.l1, self.l2, self.l3 = (L.Linear(784, 1000), L.Linear(1000, 1000),
                                             L.Linear(1000, 10))

        def forward(self, x):
            return self.l3(F.relu(self.l2(F.relu(self.l1(x)))))

    rng = numpy.random.default_rng(0)
    x = rng.random((6000, 784), dtype=numpy.float32)
    t = rng.integers(0, 10, 6000).astype(numpy.int32)
    model = L.Classifier(MLP())
    optimizer = optimizers.Adam()
    optimizer.setup(model)
    batch = 100

    def steps(iterator, count):
        times = []
        for _ in range(count):
            started = time.perf_counter()
            xs, ts = concat_examples(next(iterator))
            optimizer.update(model, xs, ts)
            times.append(time.perf_counter() - started)
        return times

    in_memory = iterators.SerialIterator(TupleDataset(x, t), batch, seed=0)
    steps(in_memory, 5)
    # the fastest of 30 steps: what a step costs when the (shared) machine lets it
    step = min(steps(in_memory, 30))
    say('fastest training step on in-memory data: {:.1f} ms'.format(step * 1e3))
    single = distributed.create_communicator('single')
    variants = {'in-memory': in_memory}
    read_ms = {}
    for kind in ('wait', 'compute'):
        # 90% of the fastest step: "about as much", without making the reading the slower of
        # the two when the machine's load moves the step time during the run
        dataset = calibrated(Costly(x, t, step / batch, kind), batch, READ_SHARE * step)
        read_ms[kind] = batch_read(dataset, batch) * 1e3
        variants['{}: SerialIterator'.format(kind)] = iterators.SerialIterator(dataset, batch,
                                                                               seed=0)
        if kind == 'wait':
            variants['wait: ShardedIterator(n_prefetch=2)'] = distributed.ShardedIterator(
                dataset, batch, single, n_prefetch=2)
            variants['wait: MultithreadIterator'] = iterators.MultithreadIterator(
                dataset, batch, seed=0)
        else:
            variants['compute: MultiprocessIterator'] = iterators.MultiprocessIterator(
                dataset, batch, seed=0, n_processes=1, n_prefetch=2)
    samples = {name: [] for name in variants}
    names = list(variants)
    for name in names:
        steps(variants[name], 3)  # start workers, fill the prefetch queues
    for repeat in range(args.repeats):
        for name in names[repeat % len(names):] + names[:repeat % len(names)]:
            samples[name] += steps(variants[name], args.steps)
    for iterator in variants.values():
        getattr(iterator, 'finalize', lambda: None)()
    return {'step_ms': {name: statistics.median(times) * 1e3 for name, times in samples.items()},
            'batch_read_ms': read_ms, 'calibrated_step_ms': step * 1e3,
            'read_share': READ_SHARE}


def batch_read(dataset, batch):
    """The median time to read a batch."""
    times = []
    for start in range(0, 5 * batch, batch):
        started = time.perf_counter()
        dataset.take(numpy.arange(start, start + batch))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def calibrated(dataset, batch, target):
    """``dataset`` with its cost per example set so that a batch takes ``target`` seconds
    (sleeping and timing overheads included)."""
    for _ in range(3):
        dataset.cost *= target / batch_read(dataset, batch)
    return dataset


# -- report ----------------------------------------------------------------------------------
def markdown(results, machine):
    lines = [START, '', '## Data rows (bench/data.py)', '',
             '`OMP_NUM_THREADS=1 python bench/data.py --write-docs` measures these rows and '
             'rewrites this section (a few minutes; `--rows hdf5-epoch` or `--rows prefetch` '
             'for one, `--json`/`--from-json` to keep and report a run).', '', '- ' + machine]
    hdf5 = results.get('hdf5-epoch')
    if hdf5:
        dchain_s = statistics.median(hdf5['epoch_s']['dchain'])
        h5py_s = statistics.median(hdf5['epoch_s']['h5py'])
        lines += ['', '**hdf5-epoch**: one shuffled epoch of a {:.0f} MB HDF5 file ({} examples '
                  'of 784 float32 and a label) on 2 ranks (mpirun -n 2), global batch {}: '
                  '`ShardedIterator(HDF5Dataset)` and the converter against the same sorted '
                  'batch reads with h5py alone; the slower rank\'s time, median of {} epochs '
                  'each, alternated.'.format(hdf5['file_mb'], hdf5['examples'], hdf5['batch'],
                                             len(hdf5['epoch_s']['dchain'])), '',
                  '| measure | value | target | met |', '| --- | ---: | ---: | :---: |',
                  '| dchain epoch | {:.2f} s | - | - |'.format(dchain_s),
                  '| h5py alone epoch | {:.2f} s | - | - |'.format(h5py_s),
                  '| dchain / h5py alone | {:.3f} | <= 1.50 | {} |'.format(
                      dchain_s / h5py_s, 'yes' if dchain_s <= 1.5 * h5py_s else '**no**'),
                  '| every example read exactly once (sum of the ranks\' reads) | {} | yes | {} |'
                  .format('yes' if hdf5['every_example_once'] else 'no',
                          'yes' if hdf5['every_example_once'] else '**no**'),
                  '| largest growth of a rank\'s resident memory | {:.1f} MiB ({:.1f} local '
                  'batches) | a few batches | {} |'.format(
                      hdf5['rss_growth_mib'], hdf5['rss_growth_mib'] / hdf5['batch_mib'],
                      'yes' if hdf5['rss_growth_mib'] <= 4 * hdf5['batch_mib'] else '**no**')]
    prefetch = results.get('prefetch')
    if prefetch:
        base = prefetch['step_ms']['in-memory']
        reads = prefetch['batch_read_ms']
        lines += ['', '**prefetch**: a training step (784-1000-1000-10 MLP, Adam, batch 100, '
                  '{:.1f} ms at its fastest) with the batch read from a dataset whose reading '
                  'costs about as much per batch of 100 (set to {:.0%} of that): waiting '
                  '(one wait per batch, like a file read through `take`; {:.1f} ms) or '
                  'computing in Python per example (like decoding; {:.1f} ms); median ms per '
                  'step. Reading ahead overlaps the waiting in a thread; the computing needs a '
                  'core that the training does not use, so its row depends on the load of the '
                  'machine.'.format(prefetch['calibrated_step_ms'],
                                    prefetch.get('read_share', 1.0), reads['wait'],
                                    reads['compute']), '',
                  '| data | ms per step | / in-memory | target | met |',
                  '| --- | ---: | ---: | ---: | :---: |']
        for name, value in prefetch['step_ms'].items():
            prefetching = name.split(': ')[-1] not in ('SerialIterator', 'in-memory')
            met = ('yes' if value <= 1.1 * base else '**no**') if prefetching else '-'
            lines.append('| {} | {:.2f} | {:.3f} | {} | {} |'.format(
                name, value, value / base, '<= 1.10' if prefetching else '-', met))
    lines += ['', END]
    return '\n'.join(lines)


def write_docs(path, text):
    with open(path) as file:
        docs = file.read()
    if START in docs:
        head, rest = docs.split(START, 1)
        docs = head + text + rest.split(END, 1)[1]
    else:
        docs = docs.rstrip('\n') + '\n\n' + text + '\n'
    with open(path, 'w') as file:
        file.write(docs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', default='hdf5-epoch,prefetch')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--steps', type=int, default=30, help='steps per prefetch block')
    parser.add_argument('--size-mb', type=float, default=350)
    parser.add_argument('--batch', type=int, default=1000, help='global batch of hdf5-epoch')
    parser.add_argument('--dir', default=tempfile.gettempdir(), help='where the file goes')
    parser.add_argument('--json', help='write the results to this file')
    parser.add_argument('--write-docs', action='store_true')
    parser.add_argument('--from-json', nargs='+', help='report (and with --write-docs, write) '
                        'the results of earlier --json files instead of measuring')
    parser.add_argument('--hdf5-worker', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hdf5_worker:
        return hdf5_worker(args.hdf5_worker, args.batch, args.repeats)

    def say(text):
        print(text, file=sys.stderr, flush=True)
    with open('/proc/loadavg') as file:
        load = file.read().split()[0]
    results = {}
    machines = []
    rows = [row.strip() for row in args.rows.split(',') if row.strip()]
    for path in args.from_json or ():
        with open(path) as file:
            earlier = json.load(file)
        machines.append(earlier.pop('machine', ''))
        results.update(earlier)
    if not args.from_json:
        if 'hdf5-epoch' in rows:
            results['hdf5-epoch'] = run_hdf5(args, say)
        if 'prefetch' in rows:
            results['prefetch'] = run_prefetch(args, say)
        machines.append('{}: {} UTC; {} cores, load average {} before the run (a shared '
                        'machine); Python {}, NumPy {}.'.format(
                            '+'.join(results), time.strftime('%Y-%m-%d %H:%M', time.gmtime()),
                            os.cpu_count(), load, sys.version.split()[0], numpy.__version__))
    results['machine'] = ' '.join(machines)
    text = markdown(results, results['machine'])
    print(text)
    if args.json:
        with open(args.json, 'w') as file:
            json.dump(results, file, indent=1)
    if args.write_docs:
        write_docs(os.path.join(ROOT, 'docs', 'performance.md'), text)


if __name__ == '__main__':
    main()
