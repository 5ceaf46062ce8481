"""A failing rank ends the whole job quickly, with a message naming it; nothing hangs.

Each test launches its own 2-process job with mpirun, so these run in the single-process suite.
"""
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip('mpi4py')
MPIRUN = shutil.which('mpirun', path=os.path.dirname(sys.executable) + os.pathsep +
                      os.environ.get('PATH', ''))
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MPIRUN is None, reason='mpirun not found')]


def run_job(tmp_path, body, env=None, limit=120):
    script = tmp_path / 'job.py'
    script.write_text(textwrap.dedent('''\
        import os, signal, sys, time
        import numpy
        from dchain import distributed
        comm = distributed.create_communicator('mpi')
        ''') + textwrap.dedent(body))
    environment = dict(os.environ, OMP_NUM_THREADS='1', **(env or {}))
    start = time.monotonic()
    result = subprocess.run([MPIRUN, '-n', '2', sys.executable, str(script)], capture_output=True,
                            text=True, timeout=limit, env=environment)
    return result, time.monotonic() - start


def test_uncaught_exception_aborts_the_job(tmp_path):
    result, elapsed = run_job(tmp_path, '''
        if comm.rank == 1:
            raise ValueError('bad shard')
        comm.allreduce(numpy.ones(3))   # rank 0 would wait forever without the abort
        print('rank 0 should not get here')
        ''')
    assert result.returncode != 0
    assert '[rank 1] ValueError: bad shard' in result.stderr
    assert 'uncaught ValueError on rank 1; aborting the job' in result.stderr
    assert 'should not get here' not in result.stdout
    assert elapsed < 30


def test_opt_out_lets_the_other_rank_finish(tmp_path):
    result, _ = run_job(tmp_path, '''
        if comm.rank == 1:
            raise ValueError('only me')
        print('rank 0 finished')
        ''', env={'DCHAIN_ABORT_ON_ERROR': '0'})
    assert result.returncode != 0
    assert 'rank 0 finished' in result.stdout
    assert 'aborting the job' not in result.stderr


def test_collective_timeout_names_operation_and_missing_rank(tmp_path):
    # The short timeout applies only once both ranks are up (a loaded machine may take a
    # while to start them).
    result, elapsed = run_job(tmp_path, '''
        comm.barrier()
        comm = distributed.create_communicator('mpi', timeout=2)
        comm.allreduce(numpy.ones(3))
        if comm.rank == 1:
            time.sleep(60)
        comm.allreduce(numpy.ones(3))
        ''')
    assert result.returncode != 0, result.stderr
    assert '[rank 0] dchain: allreduce (call #2) did not complete within 2 s' in result.stderr
    assert 'ranks that did not arrive (busy, hung or gone): 1' in result.stderr
    assert elapsed < 30


def test_mismatched_collectives_are_reported(tmp_path):
    result, elapsed = run_job(tmp_path, '''
        comm.allreduce(numpy.ones(1))
        if comm.rank == 1:
            comm.bcast_obj('x')
        else:
            comm.barrier()
        ''', env={'DCHAIN_COLLECTIVE_TIMEOUT': '5'})
    assert result.returncode != 0
    # Caught by the agreement check before any data moves, long before the timeout.
    assert 'collective #2: rank 0 calls barrier, rank 1 calls bcast_obj' in result.stderr
    assert elapsed < 30


def test_killed_rank_takes_the_job_down(tmp_path):
    result, elapsed = run_job(tmp_path, '''
        if comm.rank == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        comm.allreduce(numpy.ones(3))
        ''')
    assert result.returncode != 0
    assert elapsed < 30
