"""Threads per rank: OMP_NUM_THREADS defaults to the CPUs over the ranks on the node when a
launcher says several ranks share it and the user set nothing; checked in fresh processes,
since the default must be in place before NumPy loads its BLAS."""
import json
import os
import subprocess
import sys

import pytest

import dchain
from dchain import _threads

CPUS = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
_CLEARED = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'MPI_LOCALNRANKS',
            'OMPI_COMM_WORLD_LOCAL_SIZE', 'MV2_COMM_WORLD_LOCAL_SIZE', 'PALS_LOCAL_SIZE',
            'PMI_RANK', 'PMI_SIZE', 'PMI_FD', 'HYDI_CONTROL_FD', 'PBS_NUM_PPN',
            'SLURM_CPUS_PER_TASK')
PROBE = '''
import json, os, sys
{before}
import dchain
from dchain import _threads
# One write per line: two ranks' print() calls (text, then newline) can interleave.
sys.stdout.write(json.dumps([os.environ.get(name) for name in
                             ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')]
                            + [_threads.reason]) + '\\n')
sys.stdout.flush()
'''


def environment(**variables):
    result = {name: value for name, value in os.environ.items()
              if name not in _CLEARED and not name.startswith('SLURM_')}
    result['PYTHONPATH'] = os.path.dirname(os.path.dirname(os.path.abspath(dchain.__file__)))
    result.update(variables)
    return result


def probe(before='', **variables):
    """(OMP, OPENBLAS, MKL thread variables, reason) seen after 'import dchain' in a new
    process with ``variables`` set."""
    result = subprocess.run([sys.executable, '-c', PROBE.format(before=before)],
                            capture_output=True, text=True, env=environment(**variables),
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
@pytest.mark.parametrize('variable', ['MPI_LOCALNRANKS', 'OMPI_COMM_WORLD_LOCAL_SIZE',
                                      'MV2_COMM_WORLD_LOCAL_SIZE', 'PALS_LOCAL_SIZE'])
@pytest.mark.parametrize('ranks', [2, 4])
def test_mpi_launchers_local_size(variable, ranks):
    expected = str(max(1, CPUS // ranks))
    omp, openblas, mkl, reason = probe(**{variable: str(ranks)})
    assert [omp, openblas, mkl] == [expected] * 3
    assert reason == 'set by dchain: {} CPUs / {} ranks on the node ({})'.format(
        CPUS, ranks, variable)


@pytest.mark.slow
@pytest.mark.parametrize('layout, node, ranks', [
    ('3(x2),1', '0', 3), ('3(x2),1', '1', 3), ('4', '0', 4), ('2,5', '1', 5)])
def test_slurm_step_tasks_on_this_node(layout, node, ranks):
    omp, _, _, reason = probe(SLURM_STEP_ID='0', SLURM_STEP_TASKS_PER_NODE=layout,
                              SLURM_NODEID=node)
    assert omp == str(max(1, CPUS // ranks))
    assert '/ {} ranks on the node (SLURM_STEP_TASKS_PER_NODE)'.format(ranks) in reason


@pytest.mark.slow
def test_slurm_cpus_per_task_is_the_users_choice():
    omp, openblas, _, reason = probe(SLURM_STEP_ID='0', SLURM_STEP_TASKS_PER_NODE='4',
                                     SLURM_NODEID='0', SLURM_CPUS_PER_TASK='3')
    assert (omp, openblas, reason) == ('3', '3', 'set by dchain: SLURM_CPUS_PER_TASK')


@pytest.mark.slow
@pytest.mark.parametrize('variables', [
    {},                                                       # one process, no launcher
    {'MPI_LOCALNRANKS': '1'},                                 # one rank on this node
    {'SLURM_STEP_TASKS_PER_NODE': '1(x2),3', 'SLURM_STEP_ID': '0', 'SLURM_NODEID': '1'},
    {'SLURM_TASKS_PER_NODE': '4', 'SLURM_NODEID': '0'},       # the batch script, not a rank
    {'PBS_NUM_PPN': '8'},                                     # a PBS job, not an MPI rank
    {'MPI_LOCALNRANKS': 'many'},                              # nothing usable
])
def test_left_alone_without_several_local_ranks(variables):
    assert probe(**variables) == [None, None, None, None]


@pytest.mark.slow
def test_torque_ppn_under_an_mpi_launcher():
    omp, _, _, reason = probe(PBS_NUM_PPN='2', PMI_RANK='1')
    assert omp == str(max(1, CPUS // 2)) and reason.endswith('(PBS_NUM_PPN)')


@pytest.mark.slow
def test_the_users_settings_win():
    assert probe(MPI_LOCALNRANKS='2', OMP_NUM_THREADS='3') == ['3', None, None, None]
    omp, openblas, mkl, _ = probe(MPI_LOCALNRANKS='2', OPENBLAS_NUM_THREADS='5')
    assert (omp, openblas, mkl) == (str(max(1, CPUS // 2)), '5', str(max(1, CPUS // 2)))


@pytest.mark.slow
def test_nothing_set_once_numpy_is_loaded():
    # Its BLAS has read the variables already: setting them now would only mislead.
    assert probe(before='import numpy', MPI_LOCALNRANKS='2') == [None, None, None, None]


@pytest.mark.parametrize('cpus, ranks, expected', [(16, 4, 4), (16, 3, 5), (2, 4, 1)])
def test_cpus_divided_by_ranks(monkeypatch, cpus, ranks, expected):
    monkeypatch.setattr(_threads, '_cpus', lambda: cpus)
    threads, reason = _threads.default_threads({'OMPI_COMM_WORLD_LOCAL_SIZE': str(ranks)})
    assert threads == expected
    assert reason == '{} CPUs / {} ranks on the node (OMPI_COMM_WORLD_LOCAL_SIZE)'.format(
        cpus, ranks)


@pytest.mark.slow
def test_banner_says_where_the_threads_came_from():
    script = PROBE.format(before='') + '''
from dchain import distributed
comm = distributed.SingleCommunicator()
print(distributed.describe(comm, dchain.get_device('@numpy')))
'''
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            env=environment(MPI_LOCALNRANKS='2'), timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'threads per rank: OMP_NUM_THREADS={} (set by dchain: {} CPUs / 2 ranks on the ' \
        'node (MPI_LOCALNRANKS))'.format(max(1, CPUS // 2), CPUS) in result.stdout


@pytest.mark.slow
def test_real_mpirun_ranks_share_the_cpus(tmp_path):
    pytest.importorskip('mpi4py')
    from dchain import launch
    try:
        mpirun = launch.find_mpirun()
    except launch.LaunchError:
        pytest.skip('no mpirun on the PATH or beside this Python')
    script = tmp_path / 'probe.py'
    script.write_text(PROBE.format(before=''))
    result = subprocess.run([mpirun, '-n', '2', sys.executable, str(script)],
                            capture_output=True, text=True, env=environment(), timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    for omp, openblas, _, reason in lines:
        assert omp == openblas == str(max(1, CPUS // 2))
        assert reason.startswith('set by dchain: {} CPUs / 2 ranks'.format(CPUS))
