"""launch/slurm.sbatch submitted to a real Slurm: examples/mnist.py on 2 tasks, the Python taken
from the submit-time PATH, both launchers (srun and mpirun), a failing task ending the job, and
a long job signalled (as before a time limit or preemption) that checkpoints, is requeued and
goes on from its snapshot.

Uses the Slurm that answers here, or starts the single-node one of
``../shared/tools/slurm-local.sh`` (as root) and stops it afterwards; skips otherwise.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

import dchain

pytest.importorskip('mpi4py')
pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SBATCH_SCRIPT = os.path.join(REPO, 'launch', 'slurm.sbatch')
EXAMPLE = os.path.join(REPO, 'examples', 'mnist.py')
SLURM_LOCAL = os.path.join(REPO, '..', 'shared', 'tools', 'slurm-local.sh')
JOB_LIMIT = 300   # seconds; a job waiting longer than this for a node is cancelled
_LAUNCHER_VARIABLES = ('PMI_RANK', 'PMI_SIZE', 'PMI_FD', 'PMIX_RANK', 'MPI_LOCALNRANKS',
                       'HYDI_CONTROL_FD', 'OMPI_COMM_WORLD_SIZE', 'OMP_NUM_THREADS')


def _slurm_answers():
    if shutil.which('sbatch') is None or shutil.which('scontrol') is None:
        return False
    ping = subprocess.run(['scontrol', 'ping'], capture_output=True, text=True, timeout=30)
    return 'is UP' in ping.stdout


@pytest.fixture(scope='module')
def slurm():
    """A Slurm cluster that takes jobs: the one running, or the local one started here."""
    started = False
    if not _slurm_answers():
        if not os.path.isfile(SLURM_LOCAL):
            pytest.skip('no Slurm answers and {} is absent'.format(SLURM_LOCAL))
        if os.geteuid() != 0:
            pytest.skip('no Slurm answers and slurm-local.sh needs root to start one')
        # nproc, which sizes the node, counts OMP_NUM_THREADS as the CPUs there are.
        environment = {name: value for name, value in os.environ.items()
                       if name not in ('OMP_NUM_THREADS', 'OMP_THREAD_LIMIT')}
        start = subprocess.run(['bash', SLURM_LOCAL, 'start'], capture_output=True, text=True,
                               env=environment, timeout=600)
        assert start.returncode == 0, 'slurm-local.sh start failed:\n' + start.stdout + \
            start.stderr
        started = True
    cpus = subprocess.run(['sinfo', '-h', '-o', '%c'], capture_output=True, text=True,
                          timeout=30).stdout.split()
    if max((int(count.rstrip('+')) for count in cpus if count.rstrip('+').isdigit()),
           default=0) < 2:
        pytest.skip('no Slurm node has the 2 CPUs these jobs ask for (sinfo: {})'.format(cpus))
    yield
    if started:
        subprocess.run(['bash', SLURM_LOCAL, 'stop'], capture_output=True, timeout=120)


def submit(workdir, arguments, options=('--nodes', '1', '--ntasks', '2'), **variables):
    """sbatch --wait the job script from ``workdir``; returns (exit status, log text)."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in _LAUNCHER_VARIABLES}
    # The job imports the dchain these tests import, installed or from this checkout.
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(dchain.__file__)))
    environment['PYTHONPATH'] = os.pathsep.join(
        filter(None, [package_root, environment.get('PYTHONPATH')]))
    environment.update(DCHAIN_OFFLINE='1', DCHAIN_COLLECTIVE_TIMEOUT='120', **variables)
    command = ['sbatch', '--wait', '--parsable', '--job-name', 'dchain-test',
               '--time', '10'] + list(options) + [SBATCH_SCRIPT] + list(arguments)
    try:
        result = subprocess.run(command, capture_output=True, text=True, cwd=str(workdir),
                                env=environment, timeout=JOB_LIMIT)
    except subprocess.TimeoutExpired as expired:
        job = (expired.stdout or b'').decode().strip().split(';')[0]
        if job:
            subprocess.run(['scancel', job], timeout=30)
        pytest.fail('the Slurm job did not finish within {} s'.format(JOB_LIMIT))
    job = result.stdout.strip().split(';')[0]
    assert job.isdigit(), 'sbatch did not submit: ' + result.stdout + result.stderr
    log = workdir / 'slurm-{}.out'.format(job)   # Slurm's usual place: the submit folder
    assert log.is_file(), 'no {} in the submit folder'.format(log.name)
    return result.returncode, log.read_text()


def test_mnist_on_two_tasks(slurm, tmp_path):
    status, log = submit(tmp_path, [EXAMPLE, '--epoch', '1', '--unit', '100', '--out',
                                    'result'], DCHAIN_PYTHON=sys.executable)
    assert status == 0, log
    command = [line for line in log.splitlines() if line.startswith('slurm.sbatch: ')][-1]
    assert '{} {} --epoch 1'.format(sys.executable, EXAMPLE) in command
    assert '2 rank(s) on 1 node(s)' in log          # one MPI job, not two single processes
    assert 'OMP_NUM_THREADS=1' in log
    last = [line for line in log.splitlines() if line.startswith('final validation accuracy')]
    assert len(last) == 1                           # rank 0 alone prints it
    accuracy = float(last[0].split()[-1])
    entries = json.loads((tmp_path / 'result' / 'log').read_text())
    assert [entry['epoch'] for entry in entries] == [1]
    assert entries[0]['validation/main/accuracy'] == pytest.approx(accuracy, abs=1e-4)
    assert accuracy > 0.7
    assert (tmp_path / 'result' / 'model.npz').is_file()


WHO = textwrap.dedent('''\
    import os, sys
    from dchain import distributed
    comm = distributed.create_communicator()
    print('rank {} of {} prefix {} threads {} args {}'.format(
        comm.rank, comm.size, sys.prefix, os.environ.get('OMP_NUM_THREADS'), sys.argv[1:]),
        flush=True)
    ''')


@pytest.mark.parametrize('launcher', ['srun', 'mpirun'])
def test_python_from_the_submit_path_and_both_launchers(slurm, tmp_path, launcher):
    (tmp_path / 'who.py').write_text(WHO)
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', '')
    status, log = submit(tmp_path, ['who.py', 'two words', '--flag'],
                         options=('--nodes', '1', '--ntasks', '2', '--cpus-per-task', '1'),
                         PATH=path, DCHAIN_LAUNCHER=launcher)
    assert status == 0, log
    command = [line for line in log.splitlines() if line.startswith('slurm.sbatch: ')][-1]
    assert command.split()[1].endswith(launcher)
    for rank in (0, 1):
        assert "rank {} of 2 prefix {} threads 1 args ['two words', '--flag']".format(
            rank, sys.prefix) in log


def test_a_failing_task_ends_the_job(slurm, tmp_path):
    (tmp_path / 'fail.py').write_text(textwrap.dedent('''\
        import numpy
        from dchain import distributed
        comm = distributed.create_communicator()
        if comm.rank == 1:
            raise ValueError('bad shard')
        comm.allreduce(numpy.ones(3))
        print('rank 0 should not get here')
        '''))
    status, log = submit(tmp_path, ['fail.py'], DCHAIN_PYTHON=sys.executable)
    assert status != 0
    assert '[rank 1] ValueError: bad shard' in log
    assert 'should not get here' not in log


def test_no_script_is_a_usage_error(slurm, tmp_path):
    status, log = submit(tmp_path, [], options=('--ntasks', '1'), DCHAIN_PYTHON=sys.executable)
    assert status == 2
    assert 'usage: sbatch [sbatch options] launch/slurm.sbatch SCRIPT [ARGS...]' in log


LONG_JOB = ['--requeue', '--signal=USR1@60', '--open-mode=append']
MNIST_ARGS = [EXAMPLE, '--epoch', '2', '--unit', '50', '--batchsize', '20', '--frequency', '1',
              '--out', 'result', '--resume', 'auto']   # 200 iterations per epoch


def _job_state(job):
    shown = subprocess.run(['scontrol', 'show', 'job', job], capture_output=True, text=True,
                           timeout=30).stdout
    fields = dict(word.split('=', 1) for word in shown.split() if '=' in word)
    return fields.get('JobState'), int(fields.get('Restarts', 0))


def _submit_long_job(workdir):
    """Submit MNIST_ARGS as a long job (no --wait); returns the job id once the first epoch's
    snapshot exists."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in _LAUNCHER_VARIABLES}
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(dchain.__file__)))
    environment.update(PYTHONPATH=package_root, DCHAIN_OFFLINE='1', DCHAIN_PYTHON=sys.executable,
                       DCHAIN_COLLECTIVE_TIMEOUT='120')
    submitted = subprocess.run(['sbatch', '--parsable', '--job-name', 'dchain-test', '--time',
                                '10', '--nodes', '1', '--ntasks', '2'] + LONG_JOB +
                               [SBATCH_SCRIPT] + MNIST_ARGS, capture_output=True, text=True,
                               cwd=str(workdir), env=environment, timeout=60)
    job = submitted.stdout.strip().split(';')[0]
    assert job.isdigit(), submitted.stdout + submitted.stderr
    first = workdir / 'result' / 'snapshot_iter_200'
    deadline = time.monotonic() + JOB_LIMIT
    while not first.is_file():
        state, _ = _job_state(job)
        if state not in ('PENDING', 'RUNNING', 'CONFIGURING') or time.monotonic() > deadline:
            subprocess.run(['scancel', job], timeout=30)
            pytest.fail('job {} is {} without {}:\n{}'.format(
                job, state, first, (workdir / 'slurm-{}.out'.format(job)).read_text()))
        time.sleep(0.05)
    return job


def _wait_for(job, done, limit=JOB_LIMIT):
    deadline = time.monotonic() + limit
    while True:
        state = _job_state(job)
        if done(*state):
            return state
        if time.monotonic() > deadline:
            subprocess.run(['scancel', job], timeout=30)
            pytest.fail('job {} still {} after {} s'.format(job, state, limit))
        time.sleep(0.5)


def test_usr1_checkpoints_and_requeues_and_a_resubmission_goes_on(slurm, tmp_path):
    job = _submit_long_job(tmp_path)
    subprocess.run(['scancel', '--signal=USR1', job], check=True, timeout=30)
    # the ranks stop with a snapshot; slurm.sbatch requeues the job (--requeue) ...
    state = _wait_for(job, lambda state, restarts: restarts == 1 or state in (
        'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT'))
    log = (tmp_path / 'slurm-{}.out'.format(job)).read_text()
    assert state == ('PENDING', 1), log
    stopped = re.search(r'\[rank 0\] dchain: stopped at iteration (\d+) on SIGUSR1; wrote '
                        r'result/snapshot_iter_(\d+); exiting with status 75', log)
    assert stopped and stopped.group(1) == stopped.group(2), log
    assert 200 < int(stopped.group(1)) < 400
    assert 'requeueing job {} to go on from it'.format(job) in log
    # ... where it would wait for Slurm's requeue delay (about two minutes); resubmitted
    # instead, the same command goes on from the snapshot and finishes
    subprocess.run(['scancel', job], timeout=30)
    status, second = submit(tmp_path, MNIST_ARGS, DCHAIN_PYTHON=sys.executable)
    assert status == 0, second
    assert 'final validation accuracy' in second
    entries = json.loads((tmp_path / 'result' / 'log').read_text())
    assert [entry['epoch'] for entry in entries] == [1, 2]   # epoch 1 from the first job
    assert [entry['iteration'] for entry in entries] == [200, 400]


def test_scancel_checkpoints_and_the_job_stays_cancelled(slurm, tmp_path):
    job = _submit_long_job(tmp_path)
    subprocess.run(['scancel', job], check=True, timeout=30)   # SIGTERM to everything
    state = _wait_for(job, lambda state, restarts: state not in (
        'PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING'))
    time.sleep(1)  # the log's last lines
    log = (tmp_path / 'slurm-{}.out'.format(job)).read_text()
    assert state == ('CANCELLED', 0), log
    stopped = re.search(r'\[rank 0\] dchain: stopped at iteration (\d+) on SIGTERM; wrote '
                        r'result/snapshot_iter_(\d+); exiting with status 75', log)
    assert stopped and stopped.group(1) == stopped.group(2), log
    assert 'as the job ended; submit the same command again to go on from it' in log
    assert 'requeueing' not in log


@pytest.mark.skipif(os.environ.get('DCHAIN_TEST_SLURM_REQUEUE') != '1',
                    reason="waits out Slurm's requeue delay (about 3 minutes): set "
                           "DCHAIN_TEST_SLURM_REQUEUE=1")
def test_a_requeued_job_finishes_from_its_snapshot(slurm, tmp_path):
    job = _submit_long_job(tmp_path)
    subprocess.run(['scancel', '--signal=USR1', job], check=True, timeout=30)
    state = _wait_for(job, lambda state, restarts: state in (
        'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT'), limit=2 * JOB_LIMIT)
    log = (tmp_path / 'slurm-{}.out'.format(job)).read_text()
    assert state == ('COMPLETED', 1), log
    assert 'slurm.sbatch: restart 1: ' in log
    assert log.count('final validation accuracy') == 1
    entries = json.loads((tmp_path / 'result' / 'log').read_text())
    assert [entry['iteration'] for entry in entries] == [200, 400]
