"""python -m dchain.launch: real 2-rank jobs through the installed mpirun on localhost, hostfile
formats and their conversion, refusals, exit status and SIGTERM."""
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import dchain
from dchain import launch

pytest.importorskip('mpi4py')
try:
    MPIRUN = launch.find_mpirun()
except launch.LaunchError:
    MPIRUN = None
needs_mpirun = pytest.mark.skipif(MPIRUN is None, reason='no mpirun on the PATH or beside '
                                  'this Python')
_LAUNCHER_VARIABLES = ('PMI_RANK', 'PMI_SIZE', 'PMI_FD', 'PMIX_RANK', 'MPI_LOCALNRANKS',
                       'HYDI_CONTROL_FD', 'OMPI_COMM_WORLD_SIZE')

WHO = textwrap.dedent('''\
    import sys
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    print('rank {} of {} args {}'.format(comm.rank, comm.size, sys.argv[1:]), flush=True)
    if len(sys.argv) > 1 and sys.argv[1] == 'fail' and comm.rank == 1:
        sys.exit(3)
    ''')


def run_launch(tmp_path, *arguments, timeout=120):
    (tmp_path / 'who.py').write_text(WHO)
    environment = {name: value for name, value in os.environ.items()
                   if name not in _LAUNCHER_VARIABLES}
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(dchain.__file__)))
    environment['PYTHONPATH'] = package_root
    return subprocess.run([sys.executable, '-m', 'dchain.launch'] + list(arguments),
                          capture_output=True, text=True, cwd=str(tmp_path), env=environment,
                          timeout=timeout)


def printed_command(stderr):
    return [line for line in stderr.splitlines() if line.startswith('dchain.launch: ')][-1]


@pytest.mark.slow
@needs_mpirun
def test_two_ranks_from_an_mpich_hostfile(tmp_path):
    (tmp_path / 'hosts').write_text('# this machine, two slots\nlocalhost:2\n')
    result = run_launch(tmp_path, '--hostfile', 'hosts', '-n', '2', 'who.py', 'a b', '--c')
    assert result.returncode == 0, result.stderr
    for rank in (0, 1):
        assert "rank {} of 2 args ['a b', '--c']".format(rank) in result.stdout
    if launch.mpi_flavor(MPIRUN) == 'mpich':
        assert printed_command(result.stderr) == "dchain.launch: {} -f hosts -n 2 {} who.py " \
            "'a b' --c".format(MPIRUN, sys.executable)


@pytest.mark.slow
@needs_mpirun
def test_other_format_is_converted_and_n_defaults_to_the_slots(tmp_path):
    flavor = launch.mpi_flavor(MPIRUN)
    other = 'localhost:2\n' if flavor == 'openmpi' else 'localhost slots=2\n'
    (tmp_path / 'hosts').write_text(other)
    result = run_launch(tmp_path, '--hostfile', 'hosts', 'who.py')
    assert result.returncode == 0, result.stderr
    assert 'rank 1 of 2' in result.stdout
    converted = re.search(r'hosts converted to \w+ format in (\S+)', result.stderr).group(1)
    assert '{} {}'.format('-f' if flavor == 'mpich' else '--hostfile', converted) in \
        printed_command(result.stderr)
    assert not os.path.exists(converted)        # removed once the job ended


@pytest.mark.slow
@needs_mpirun
def test_module_after_double_dash_and_the_jobs_exit_status(tmp_path):
    result = run_launch(tmp_path, '-n', '2', '--', '-m', 'mpi4py', 'who.py', 'fail')
    assert result.returncode == 3, result.stderr
    assert ' -n 2 {} -m mpi4py who.py fail'.format(sys.executable) in \
        printed_command(result.stderr)


@pytest.mark.slow
@needs_mpirun
def test_sigterm_ends_every_rank(tmp_path):
    (tmp_path / 'sleep.py').write_text(textwrap.dedent('''\
        import time
        from mpi4py import MPI
        MPI.COMM_WORLD.Barrier()
        if MPI.COMM_WORLD.rank == 0:
            print('started', flush=True)
        time.sleep(120)
        '''))
    environment = {name: value for name, value in os.environ.items()
                   if name not in _LAUNCHER_VARIABLES}
    environment['PYTHONPATH'] = os.path.dirname(os.path.dirname(os.path.abspath(
        dchain.__file__)))
    process = subprocess.Popen([sys.executable, '-m', 'dchain.launch', '-n', '2', 'sleep.py'],
                               cwd=str(tmp_path), env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline() == 'started\n'
    process.send_signal(signal.SIGTERM)
    start = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    assert time.monotonic() - start < 30
    ranks = subprocess.run(['pgrep', '-f', str(tmp_path / 'sleep.py')], capture_output=True,
                           text=True).stdout
    assert ranks == ''


@pytest.mark.slow
@needs_mpirun
def test_max_restarts_runs_a_failing_job_again_up_to_k_times(tmp_path):
    result = run_launch(tmp_path, '-n', '2', '--max-restarts', '2', 'who.py', 'fail')
    assert result.returncode == 3
    assert result.stdout.count('rank 0 of 2') == 3
    lines = [line for line in result.stderr.splitlines() if 'the job ended' in line]
    assert lines == [
        'dchain.launch: the job ended with status 3; restart 1 of 2 (the script resumes from '
        'its last snapshot with its own autoload, e.g. --resume auto)',
        'dchain.launch: the job ended with status 3; restart 2 of 2 (the script resumes from '
        'its last snapshot with its own autoload, e.g. --resume auto)',
        'dchain.launch: the job ended with status 3; no restarts left (2 made)']


@pytest.mark.slow
@needs_mpirun
def test_a_job_stopped_with_a_snapshot_is_not_restarted(tmp_path):
    (tmp_path / 'stopped.py').write_text(textwrap.dedent('''\
        import os, sys
        # one write per rank: the two ranks' lines may interleave, not their pieces
        os.write(1, 'restart count {}\\n'.format(os.environ['DCHAIN_RESTART_COUNT']).encode())
        sys.exit(75)   # dchain.training.checkpoints.STOPPED_STATUS
        '''))
    result = run_launch(tmp_path, '-n', '2', '--max-restarts', '2', 'stopped.py')
    assert result.returncode == 75
    assert result.stdout.count('restart count 0') == 2
    assert 'the job ended' not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize('line, number', [
    ('node1:two', 2), ('node1 slots=x', 2), ('node1 foo', 2), ('node1:2 slots=3', 2),
    (':4', 2), ('node1 slots=2 cpus=4', 2), ('node1,node2', 2)])
def test_malformed_hostfile_names_the_line(tmp_path, line, number):
    (tmp_path / 'hosts').write_text('node0:1\n{}\nnode3:1\n'.format(line))
    result = run_launch(tmp_path, '--hostfile', 'hosts', 'who.py')
    assert result.returncode == 2
    assert "dchain.launch: --hostfile hosts line {}: expected 'host', 'host:slots' (MPICH) " \
        "or 'host slots=N' (Open MPI), got {!r}".format(number, line) in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize('text, message', [
    ('# only a comment\n\n', '--hostfile hosts: no hosts in it'),
    ('node1:0\n', "--hostfile hosts line 1: slots must be at least 1, got 'node1:0'"),
    ('node1 slots=0\n', "--hostfile hosts line 1: slots must be at least 1")])
def test_hostfile_without_slots_is_refused(tmp_path, text, message):
    (tmp_path / 'hosts').write_text(text)
    result = run_launch(tmp_path, '--hostfile', 'hosts', 'who.py')
    assert result.returncode == 2 and message in result.stderr


@pytest.mark.slow
def test_command_line_refusals(tmp_path):
    (tmp_path / 'hosts').write_text('node1:2\n')
    cases = [
        (['--hostfile', 'hosts', '-n', '3', 'who.py'], '-n 3 is more than the 2 slots in hosts'),
        (['--hostfile', 'absent', 'who.py'], '--hostfile absent: cannot read it'),
        (['-n', '0', 'who.py'], '-n must be at least 1, got 0'),
        (['--max-restarts', '-1', 'who.py'], '--max-restarts must be 0 or more, got -1'),
        (['-n', '2'], 'SCRIPT is missing'),
        (['-n', '2', 'absent.py'], 'SCRIPT: no such file: absent.py'),
        (['--mpirun', 'no-such-mpirun', 'who.py'], '--mpirun no-such-mpirun: no such executable'),
    ]
    for arguments, message in cases:
        result = run_launch(tmp_path, *arguments)
        assert result.returncode == 2, arguments
        assert message in result.stderr, (arguments, result.stderr)


def test_read_hostfile_merges_repeated_hosts_in_order(tmp_path):
    path = tmp_path / 'nodefile'
    path.write_text('b\nb  # second slot\na:2\n\nb slots=3 max_slots=8\n  c\t slots = 4\n')
    hosts, styles = launch.read_hostfile(str(path))
    assert hosts == [['b', 5], ['a', 2], ['c', 4]]
    assert styles == {'bare', 'mpich', 'openmpi'}
    assert launch.format_hostfile(hosts, 'mpich') == 'b:5\na:2\nc:4\n'
    assert launch.format_hostfile(hosts, 'openmpi') == 'b slots=5\na slots=2\nc slots=4\n'


@pytest.mark.parametrize('version, flavor', [
    ('mpirun (Open MPI) 4.1.6\n\nReport bugs to https://www.open-mpi.org/community/help/',
     'openmpi'),
    ('HYDRA build details:\n    Version:    4.2.0', 'mpich'),
    ('Intel(R) MPI Library for Linux* OS, Version 2021.10', 'mpich'),
])
def test_flavor_from_the_version_text(tmp_path, version, flavor):
    fake = tmp_path / 'mpirun'    # a stand-in for the launcher binary that prints a version
    fake.write_text('#!/bin/sh\ncat <<"EOF"\n{}\nEOF\n'.format(version))
    fake.chmod(0o755)
    assert launch.mpi_flavor(str(fake)) == flavor


def test_unknown_launcher_is_refused(tmp_path):
    fake = tmp_path / 'mpirun'
    fake.write_text('#!/bin/sh\necho "some launcher 1.0"\n')
    fake.chmod(0o755)
    with pytest.raises(launch.LaunchError, match='cannot tell which MPI .* from its --version '
                       r'\(some launcher 1.0\); pass --mpi mpich or --mpi openmpi'):
        launch.mpi_flavor(str(fake))


def test_open_mpi_command_forwards_the_environment():
    environment = {'PATH': '/bin', 'OMP_NUM_THREADS': '2', 'DCHAIN_COLLECTIVE_TIMEOUT': '60',
                   'HOME': '/root'}
    command = launch.build_command('mpirun', 'openmpi', 4, 'hosts', ['train.py', '-e', '1'],
                                   python='/env/bin/python', environ=environment)
    assert command == ['mpirun', '--hostfile', 'hosts', '-n', '4', '-x', 'PATH', '-x',
                       'OMP_NUM_THREADS', '-x', 'DCHAIN_COLLECTIVE_TIMEOUT',
                       '/env/bin/python', 'train.py', '-e', '1']
    command = launch.build_command('mpiexec', 'mpich', 2, None, ['t.py'], python='py',
                                   environ=environment)
    assert command == ['mpiexec', '-n', '2', 'py', 't.py']


def test_a_different_mpirun_on_the_path_is_pointed_out(tmp_path, monkeypatch, capsys):
    beside = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), 'mpirun')
    if not os.path.isfile(beside):
        pytest.skip('no mpirun beside this Python')
    fake = tmp_path / 'mpirun'     # a stand-in for another MPI's launcher binary
    fake.write_text('#!/bin/sh\n')
    fake.chmod(0o755)
    monkeypatch.setenv('PATH', str(tmp_path))
    monkeypatch.delenv('DCHAIN_MPIRUN', raising=False)
    assert launch.find_mpirun() == str(fake)
    assert 'note: using {} from the PATH; this Python has its own {}'.format(
        fake, beside) in capsys.readouterr().err
    monkeypatch.setenv('PATH', '/nonexistent')
    assert launch.find_mpirun() == beside
    assert capsys.readouterr().err == ''


def test_a_missing_launcher_names_where_it_was_asked_for(monkeypatch):
    monkeypatch.setenv('DCHAIN_MPIRUN', 'no-such-mpirun-from-env')
    with pytest.raises(launch.LaunchError, match='the environment variable DCHAIN_MPIRUN '
                                                 'no-such-mpirun-from-env: no such executable'):
        launch.find_mpirun()
    with pytest.raises(launch.LaunchError, match='--mpirun no-such-mpirun: no such executable'):
        launch.find_mpirun('no-such-mpirun')
