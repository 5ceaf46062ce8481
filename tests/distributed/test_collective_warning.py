"""A collective that waits longer than DCHAIN_COLLECTIVE_WARN prints a warning naming the
ranks that have not arrived, and completes normally when they do.

Each test launches its own 2-process job with mpirun (marked slow)."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from dchain.distributed import watchdog

pytest.importorskip('mpi4py')
MPIRUN = shutil.which('mpirun', path=os.path.dirname(sys.executable) + os.pathsep +
                      os.environ.get('PATH', ''))


def run_job(tmp_path, body, env):
    if MPIRUN is None:
        pytest.skip('mpirun not found')
    script = tmp_path / 'job.py'
    script.write_text(textwrap.dedent('''\
        import time
        import numpy
        from dchain import distributed
        comm = distributed.create_communicator('mpi')
        comm.barrier()   # both ranks are up (collective #1): the late rank is late on purpose
        ''') + textwrap.dedent(body))
    environment = dict(os.environ, OMP_NUM_THREADS='1', **env)
    return subprocess.run([MPIRUN, '-n', '2', sys.executable, str(script)], capture_output=True,
                          text=True, timeout=120, env=environment)


@pytest.mark.slow
def test_a_late_rank_is_named_in_a_warning_and_the_job_goes_on(tmp_path):
    result = run_job(tmp_path, '''
        if comm.rank == 1:
            time.sleep(5)
        total = comm.allreduce(numpy.ones(3))
        print('rank {} got {}'.format(comm.rank, total.tolist()), flush=True)
        ''', {'DCHAIN_COLLECTIVE_WARN': '1', 'DCHAIN_COLLECTIVE_TIMEOUT': '100'})
    assert result.returncode == 0, result.stderr
    assert ('[rank 0] dchain: warning: allreduce (call #2) has waited 1 s '
            '(DCHAIN_COLLECTIVE_WARN); it aborts after 100 s') in result.stderr
    assert 'ranks waiting in it: 0\n' in result.stderr
    assert 'ranks that have not arrived (busy, hung or gone): 1' in result.stderr
    assert '[rank 1] dchain: warning' not in result.stderr  # rank 1 did not wait
    assert result.stdout.count('got [2.0, 2.0, 2.0]') == 2


@pytest.mark.slow
def test_a_rank_waiting_in_another_collective_is_named(tmp_path):
    result = run_job(tmp_path, '''
        if comm.rank == 1:
            time.sleep(2)  # so that rank 0's timeout comes first
            comm.recv_bytes(0, 'scatter_dataset')  # waits for a message rank 0 never sends
        else:
            comm.allreduce(numpy.ones(3))
        ''', {'DCHAIN_COLLECTIVE_WARN': '1', 'DCHAIN_COLLECTIVE_TIMEOUT': '6'})
    assert result.returncode != 0
    assert 'rank 1 is waiting in scatter_dataset (call #1) instead' in result.stderr
    assert 'dchain: warning: allreduce (call #2) has waited' in result.stderr
    assert 'allreduce (call #2) did not complete within 6 s' in result.stderr


def test_warn_seconds_come_from_the_environment(monkeypatch):
    monkeypatch.delenv('DCHAIN_COLLECTIVE_WARN', raising=False)
    assert watchdog.warn_from_env() == 60.0
    monkeypatch.setenv('DCHAIN_COLLECTIVE_WARN', '2.5')
    assert watchdog.warn_from_env() == 2.5
    monkeypatch.setenv('DCHAIN_COLLECTIVE_WARN', 'soon')
    with pytest.raises(ValueError, match="DCHAIN_COLLECTIVE_WARN must be a number of seconds, "
                                         "got 'soon'"):
        watchdog.warn_from_env()
