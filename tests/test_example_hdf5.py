"""examples/hdf5.py: writes its HDF5 file from the bundled digits and trains from it, on one
process and on 2 ranks (the same result)."""
import os
import shutil
import subprocess
import sys

import h5py
import pytest

EXAMPLE = os.path.join(os.path.dirname(__file__), '..', 'examples', 'hdf5.py')
_MPI_VARIABLES = ('PMI_RANK', 'PMI_SIZE', 'PMI_FD', 'MPI_LOCALNRANKS', 'HYDI_CONTROL_FD')


def run(*args, cwd, ranks=None, **extra_env):
    env = dict(os.environ, OMP_NUM_THREADS='1', DCHAIN_OFFLINE='1', **extra_env)
    for name in _MPI_VARIABLES:
        env.pop(name, None)
    command = [sys.executable, EXAMPLE] + list(args)
    if ranks is not None:
        mpirun = shutil.which('mpirun', path=os.path.dirname(sys.executable) + os.pathsep +
                              os.environ.get('PATH', ''))
        if mpirun is None:
            pytest.skip('mpirun not found')
        command = [mpirun, '-n', str(ranks)] + command
    return subprocess.run(command, capture_output=True, text=True, cwd=str(cwd), env=env,
                          timeout=300)


@pytest.mark.slow
def test_writes_the_file_and_trains_from_it(tmp_path):
    result = run('--epoch', '1', '--unit', '50', '--out', 'out', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == 'wrote mnist.h5 from the bundled MNIST'
    assert float(lines[-1].split()[-1]) > 0.7
    assert 'samples/sec' in result.stdout
    with h5py.File(tmp_path / 'mnist.h5', 'r') as file:
        assert file['train/x'].shape == (4000, 784) and file['test/y'].shape == (1000,)
    again = run('--epoch', '1', '--unit', '50', '--out', 'out', cwd=tmp_path)
    assert again.returncode == 0 and 'wrote' not in again.stdout  # the file is reused
    assert again.stdout.strip().splitlines()[-1] == lines[-1]


@pytest.mark.slow
def test_two_ranks_reach_the_same_result(tmp_path):
    pytest.importorskip('mpi4py')
    one = run('--epoch', '1', '--unit', '30', '--out', 'a', cwd=tmp_path)
    two = run('--epoch', '1', '--unit', '30', '--out', 'b', cwd=tmp_path, ranks=2)
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert 'rank 0 of 2 read' in two.stdout
    accuracy_one = float(one.stdout.strip().splitlines()[-1].split()[-1])
    accuracy_two = float(two.stdout.strip().splitlines()[-1].split()[-1])
    assert accuracy_two == pytest.approx(accuracy_one, abs=2e-3)


@pytest.mark.slow
def test_bad_arguments(tmp_path):
    result = run('--prefetch', '-1', cwd=tmp_path)
    assert result.returncode == 2 and '--prefetch must be 0 or more, got -1' in result.stderr


@pytest.mark.slow
def test_full_source_offline_says_so(tmp_path):
    result = run('--source', 'full', '--epoch', '1', cwd=tmp_path,
                 DCHAIN_DATASET_ROOT=str(tmp_path / 'empty-root'))
    assert result.returncode != 0
    assert 'hdf5.py: cannot write mnist.h5: ' in result.stderr
    assert not (tmp_path / 'mnist.h5').exists()
