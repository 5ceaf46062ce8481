"""launch/pbs.sh builds the right launch from what PBS gives a job ($PBS_NODEFILE, $PBS_O_*).

No PBS server runs here, so the job script runs as PBS would start it (a fake $PBS_NODEFILE and
$PBS_O_WORKDIR/$PBS_O_PATH), and ``mpirun`` is a test double: a stand-in for the launcher
binary only, found first on the PATH, that records its arguments, working folder, hostfile and
thread variables and exits with status 7. Everything between (pbs.sh and dchain.launch) is
the real code.
"""
import json
import os
import subprocess
import sys

import pytest

import dchain

pytestmark = pytest.mark.slow  # every test here starts a process

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PBS_SCRIPT = os.path.join(REPO, 'launch', 'pbs.sh')

STAND_IN = '''#!{python}
import json, os, sys
if sys.argv[1:] == ['--version']:
    print({version!r})
    sys.exit(0)
arguments = sys.argv[1:]
flag = '-f' if '-f' in arguments else '--hostfile'
with open(arguments[arguments.index(flag) + 1]) as stream:
    hostfile = stream.read()
record = {{'arguments': arguments, 'cwd': os.getcwd(), 'hostfile': hostfile,
          'threads': [os.environ.get(name) for name in
                      ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')]}}
with open(os.environ['STAND_IN_RECORD'], 'w') as stream:
    json.dump(record, stream)
sys.exit(7)
'''
VERSIONS = {'mpich': 'HYDRA build details:\n    Version:  4.2.0',
            'openmpi': 'mpirun (Open MPI) 4.1.6'}


def run_job(tmp_path, nodes, arguments=(), flavor='mpich', **variables):
    """Run pbs.sh as PBS would on ``nodes`` (lines of $PBS_NODEFILE); returns
    (completed process, stand-in record or None)."""
    bin_folder = tmp_path / 'bin'
    bin_folder.mkdir(exist_ok=True)
    stand_in = bin_folder / 'mpirun'
    stand_in.write_text(STAND_IN.format(python=sys.executable, version=VERSIONS[flavor]))
    stand_in.chmod(0o755)
    nodefile = tmp_path / 'nodefile'
    nodefile.write_text(''.join(host + '\n' for host in nodes))
    workdir = tmp_path / 'submitted_from'
    workdir.mkdir(exist_ok=True)
    (workdir / 'train.py').write_text('print("never run by the stand-in")\n')
    record = tmp_path / 'record.json'
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(dchain.__file__)))
    environment = {'HOME': str(tmp_path), 'PATH': '/usr/bin:/bin', 'PYTHONPATH': package_root,
                   'PBS_NODEFILE': str(nodefile), 'PBS_O_WORKDIR': str(workdir),
                   'PBS_JOBID': '42.server', 'STAND_IN_RECORD': str(record),
                   'PBS_O_PATH': os.pathsep.join([str(bin_folder),
                                                  os.path.dirname(sys.executable)])}
    environment.update(variables)
    result = subprocess.run(['bash', PBS_SCRIPT] + list(arguments), capture_output=True,
                            text=True, cwd=str(tmp_path), env=environment, timeout=120)
    return result, (json.loads(record.read_text()) if record.exists() else None)


def test_pbs_pro_nodefile_and_variables(tmp_path):
    nodes = ['node1'] * 4 + ['node2'] * 4
    result, record = run_job(tmp_path, nodes, DCHAIN_SCRIPT='train.py',
                             DCHAIN_ARGS='--epoch 5  --unit 100', NCPUS='4',
                             OMP_NUM_THREADS='4')
    assert result.returncode == 7, result.stderr        # the launcher's status comes back
    python = os.path.join(os.path.dirname(sys.executable), 'python')   # from $PBS_O_PATH
    nodefile = str(tmp_path / 'nodefile')
    assert record['arguments'] == ['-f', nodefile, '-n', '8', python, 'train.py', '--epoch',
                                   '5', '--unit', '100']
    assert record['hostfile'] == ''.join(host + '\n' for host in nodes)
    assert record['cwd'] == str(tmp_path / 'submitted_from')
    # PBS Pro's OMP_NUM_THREADS=ncpus would give each of the 4 ranks per node 4 threads.
    assert record['threads'] == ['1', None, None]
    assert 'pbs.sh: job 42.server: 8 rank(s) on 2 node(s), OMP_NUM_THREADS=1' in result.stdout
    assert 'dchain.launch: ' in result.stderr and ' -n 8 ' in result.stderr


def test_arguments_after_the_script_and_open_mpi(tmp_path):
    nodes = ['a'] * 2 + ['b'] * 2 + ['c'] * 2
    result, record = run_job(tmp_path, nodes, ['train.py', 'two words', '--lr=0.1,0.2'],
                             flavor='openmpi', DCHAIN_PYTHON=sys.executable, NCPUS='8')
    assert result.returncode == 7, result.stderr
    arguments = record['arguments']
    assert arguments[:4] == ['--hostfile', str(tmp_path / 'nodefile'), '-n', '6']
    assert arguments[-4:] == [sys.executable, 'train.py', 'two words', '--lr=0.1,0.2']
    # Open MPI passes only the variables -x names to remote ranks.
    forwarded = [arguments[i + 1] for i, word in enumerate(arguments[:-4]) if word == '-x']
    assert {'OMP_NUM_THREADS', 'PATH', 'PYTHONPATH'} <= set(forwarded)
    assert record['threads'][0] == '4'                   # 8 CPUs / 2 ranks per node


def test_the_users_threads_are_kept(tmp_path):
    _, record = run_job(tmp_path, ['n1', 'n1'], ['train.py'], NCPUS='8', OMP_NUM_THREADS='3')
    assert record['threads'][0] == '3'
    _, record = run_job(tmp_path, ['n1', 'n1'], ['train.py'])   # Torque: no NCPUS
    assert record['threads'][0] == '1'


def test_refusals(tmp_path):
    result, record = run_job(tmp_path, ['n1'])
    assert result.returncode == 2 and record is None
    assert 'usage: qsub [options] -v DCHAIN_SCRIPT=SCRIPT' in result.stderr
    result, record = run_job(tmp_path, ['n1'], ['train.py'], PBS_NODEFILE='')
    assert result.returncode == 2 and record is None
    assert 'pbs.sh: PBS_NODEFILE is unset or unreadable' in result.stderr
    result, record = run_job(tmp_path, ['n1'], ['missing.py'])
    assert result.returncode == 2 and record is None
    assert 'SCRIPT: no such file: missing.py' in result.stderr


def test_a_malformed_nodefile_names_the_line(tmp_path):
    result, record = run_job(tmp_path, ['n1', 'n2 extra words'], ['train.py'])
    assert result.returncode == 2 and record is None
    assert 'line 2' in result.stderr and "got 'n2 extra words'" in result.stderr
