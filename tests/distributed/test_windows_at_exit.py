"""Windows that ``expose`` opened (the sharded optimizer state's) are freed at the program's
end, after the ranks agreed to exit: MPI's finalize then has nothing in use to complain of
(MPICH over UCX printed 'UCX WARN ucp_rcache: destroying inuse region' at every exit of a
run with shard_optimizer_state=True).

Launches its own 2-process job with mpirun (slow)."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip('mpi4py')
MPIRUN = shutil.which('mpirun', path=os.path.dirname(sys.executable) + os.pathsep +
                      os.environ.get('PATH', ''))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
@pytest.mark.skipif(MPIRUN is None, reason='mpirun not found')
def test_exposed_windows_are_freed_at_exit(tmp_path):
    script = tmp_path / 'job.py'
    script.write_text(textwrap.dedent('''\
        import atexit
        import numpy
        # registered before the communicator's exit check, so it runs after it
        atexit.register(lambda: print('freed after the exit check:', exposed.window is None,
                                      flush=True))
        from dchain import distributed
        comm = distributed.create_communicator('mpi')
        exposed = comm.expose(numpy.arange(4.0))  # as ShardedState does
        comm.barrier()
        '''))
    environment = dict(os.environ, OMP_NUM_THREADS='1',
                       PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    result = subprocess.run([MPIRUN, '-n', '2', sys.executable, str(script)],
                            capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('freed after the exit check: True') == 2, result.stdout
    output = result.stdout + result.stderr
    assert 'inuse' not in output and 'not returned' not in output, output
