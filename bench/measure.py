"""Running the workers: persistent step workers alternated block by block, mpirun jobs for
dp-2, and whole training processes for the memory row. Nothing here knows the targets."""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKERS = os.path.join(HERE, 'workers')

# One thread per process for every BLAS and OpenMP runtime the frameworks may load.
THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS',
                    'VECLIB_MAXIMUM_THREADS', 'NUMEXPR_NUM_THREADS')
# glibc malloc tuning: keep large temporaries in the heap (no mmap/munmap per array, so no
# fresh zero pages to fault in at every step) and do not give freed heap back to the system.
MALLOC_TUNING = {'MALLOC_MMAP_THRESHOLD_': str(32 << 20), 'MALLOC_TRIM_THRESHOLD_': str(256 << 20)}


class Variant:
    """One framework as measured: a label, its interpreter, its worker and extra environment."""

    def __init__(self, label, python, worker, extra_env=None, description=''):
        self.label = label
        self.python = python
        self.worker = os.path.join(WORKERS, worker)
        self.extra_env = dict(extra_env or {})
        self.description = description

    def env(self, **more):
        env = dict(os.environ)
        for name in THREAD_VARIABLES:
            env[name] = '1'
        # A peer's interpreter must not pick up this checkout's packages or the reverse.
        env.pop('PYTHONPATH', None)
        env.update(self.extra_env)
        env.update(more)
        return env

    def mpirun(self):
        """The mpirun beside this interpreter, else the runner's, else the one on PATH."""
        for folder in (os.path.dirname(self.python), os.path.dirname(sys.executable)):
            candidate = os.path.join(folder, 'mpirun')
            if os.access(candidate, os.X_OK):
                return candidate
        return shutil.which('mpirun')


class WorkerError(RuntimeError):
    """A worker failed to start, build or time; the message says which and why."""


class Worker:
    """A running ``protocol.serve`` worker of one variant for one row."""

    def __init__(self, variant, row):
        self.variant = variant
        self.row = row
        self._log = tempfile.TemporaryFile(mode='w+')
        self.process = subprocess.Popen(
            [variant.python, variant.worker], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._log, text=True, env=variant.env(), cwd=ROOT)
        self.info = self._ask({'op': 'build', 'row': row})['info']

    def _ask(self, command):
        try:
            self.process.stdin.write(json.dumps(command) + '\n')
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ''
        if not line:
            self._log.seek(0)
            raise WorkerError('{} worker for {} exited: {}'.format(
                self.variant.label, self.row, self._log.read()[-2000:].strip()))
        reply = json.loads(line)
        if 'error' in reply:
            raise WorkerError('{} worker for {}: {}'.format(self.variant.label, self.row,
                                                            reply['error']))
        return reply

    def time(self, steps, warmup):
        return self._ask({'op': 'time', 'steps': steps, 'warmup': warmup})

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({'op': 'quit'}) + '\n')
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self._log.close()


def rotated(items, shift):
    shift %= max(len(items), 1)
    return items[shift:] + items[:shift]


def alternate_steps(entries, name, rounds, steps, warmup, progress):
    """Per-step times for each (variant, row) in ``entries``, alternating blocks of ``steps``
    steps for ``rounds`` rounds. Returns ({label: samples}, {label: error}, {label: info})."""
    workers, errors, infos = {}, {}, {}
    for variant, row in entries:
        try:
            workers[variant.label] = Worker(variant, row)
            infos[variant.label] = workers[variant.label].info
        except WorkerError as error:
            errors[variant.label] = str(error)
    samples = {label: {'times': [], 'round_medians': [], 'minflt_per_step': [],
                       'maxrss_kib': 0} for label in workers}
    try:
        for index in range(rounds):
            for label in rotated(list(workers), index):
                if label in errors:
                    continue
                try:
                    # The first block warms up longer: the first steps allocate the states.
                    reply = workers[label].time(steps, warmup * 3 if index == 0 else warmup)
                except WorkerError as error:
                    errors[label] = str(error)
                    continue
                sample = samples[label]
                sample['times'].extend(reply['times'])
                sample['round_medians'].append(statistics.median(reply['times']))
                sample['minflt_per_step'].append(reply['minflt_per_step'])
                sample['maxrss_kib'] = max(sample['maxrss_kib'], reply['maxrss_kib'])
            progress('{} round {}/{}'.format(name, index + 1, rounds))
    finally:
        for worker in workers.values():
            worker.close()
    return ({label: s for label, s in samples.items() if label not in errors and s['times']},
            errors, infos)


def _free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def dp_job(variant, ranks, steps, rounds, warmup, timeout=600):
    """One ``mpirun -n ranks`` job of a worker's dp phases; returns its JSON result."""
    mpirun = variant.mpirun()
    if mpirun is None:
        raise WorkerError('no mpirun found for {}'.format(variant.label))
    command = [mpirun, '-n', str(ranks), variant.python, variant.worker, '--dp', str(steps),
               str(rounds), str(warmup)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                env=variant.env(BENCH_TORCH_PORT=str(_free_port())), cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise WorkerError('{} dp job did not finish in {} s'.format(variant.label, timeout))
    lines = [line for line in result.stdout.splitlines() if line.startswith('{')]
    if result.returncode != 0 or not lines:
        raise WorkerError('{} dp job failed (exit {}): {}'.format(
            variant.label, result.returncode, (result.stderr or result.stdout)[-2000:].strip()))
    return json.loads(lines[-1])


def alternate_dp(variants, repeats, steps, rounds, warmup, progress):
    """The dp phases of each variant, one mpirun job per variant per repeat, alternated.
    Returns ({label: {phase: (per-step times, per-job medians)}}, {label: error},
    {label: info})."""
    phases, errors, infos = {}, {}, {}
    for index in range(repeats):
        for variant in rotated(list(variants), index):
            if variant.label in errors:
                continue
            try:
                result = dp_job(variant, 2, steps, rounds, warmup)
            except WorkerError as error:
                errors[variant.label] = str(error)
                continue
            infos[variant.label] = result['info']
            mine = phases.setdefault(variant.label, {})
            for phase, times in result['phases'].items():
                if times:
                    pooled, medians = mine.setdefault(phase, ([], []))
                    pooled.extend(times)
                    medians.append(statistics.median(times))
        progress('dp-2 repeat {}/{}'.format(index + 1, repeats))
    return phases, errors, infos


def peak_rss(command, env, timeout=900):
    """Run ``command`` to completion; returns (peak RSS in KiB, seconds)."""
    with tempfile.TemporaryFile(mode='w+') as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=ROOT)
        deadline = start + timeout
        while True:
            # wait4 gives this child's own resource usage (getrusage(RUSAGE_CHILDREN) would
            # give the largest of every child so far).
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                os.wait4(process.pid, 0)
                raise WorkerError('{} did not finish in {} s'.format(command[1], timeout))
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        if process.returncode != 0:
            log.seek(0)
            raise WorkerError('{} failed (exit {}): {}'.format(
                ' '.join(command[:2]), process.returncode, log.read()[-2000:].strip()))
    return usage.ru_maxrss, seconds


def alternate_memory(runs, repeats, progress):
    """``runs`` maps a label to (variant, argv builder taking an output folder). Each run is
    its own process; labels alternate. Returns ({label: [(kib, seconds)]}, {label: error})."""
    results, errors = {}, {}
    labels = list(runs)
    for index in range(repeats):
        for label in rotated(labels, index):
            if label in errors:
                continue
            variant, argv = runs[label]
            with tempfile.TemporaryDirectory() as folder:
                dataset_root = os.path.join(folder, 'no-dataset')
                os.mkdir(dataset_root)
                # Offline and with an empty dataset folder, the example uses the bundled
                # subset: the same .npz the Chainer script is given.
                env = variant.env(DCHAIN_OFFLINE='1', DCHAIN_DATASET_ROOT=dataset_root,
                                  MPLBACKEND='Agg')
                try:
                    results.setdefault(label, []).append(
                        peak_rss(argv(os.path.join(folder, 'out')), env))
                except WorkerError as error:
                    errors[label] = str(error)
        progress('memory repeat {}/{}'.format(index + 1, repeats))
    return results, errors
