"""A signal during Trainer.run stops it at the next step boundary with a snapshot, and a run
resumed from that snapshot ends where an uninterrupted one does (one process; the MPI job tests
are in tests/distributed/test_checkpoints_job.py)."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy
import pytest

import dchain
from dchain.training import checkpoints

from .test_training_run import _params, _trainer


def _signal_at(iteration, number, times=1):
    def send(trainer):
        if trainer.updater.iteration == iteration:
            for _ in range(times):
                os.kill(os.getpid(), number)
    return send


@pytest.mark.parametrize('name', ['SIGTERM', 'SIGUSR1', 'SIGINT'])
def test_a_signal_stops_at_the_step_boundary_with_a_snapshot(tmp_path, name):
    number = getattr(signal, name)
    before = signal.getsignal(number)
    total = 20
    reference = _trainer(tmp_path / 'reference', (total, 'iteration'))
    reference.run()

    first = _trainer(tmp_path / 'run', (total, 'iteration'), snapshot_every=100)
    first.extend(_signal_at(7, number), name='sender')
    with pytest.raises(checkpoints.TrainingStopped) as info:
        first.run()
    assert info.value.code == checkpoints.STOPPED_STATUS == 75
    assert info.value.signal_name == name
    assert info.value.iteration == first.updater.iteration == 7
    assert info.value.snapshots == [str(tmp_path / 'run' / 'snapshot_iter_7')]
    assert sorted(os.listdir(tmp_path / 'run')) == ['log', 'snapshot_iter_7']
    assert signal.getsignal(number) is before     # the handlers are put back

    dchain.random.seed(99)
    resumed = _trainer(tmp_path / 'run', (total, 'iteration'), snapshot_every=100,
                       autoload=True)
    resumed.run()
    assert resumed.updater.iteration == total
    expected, actual = _params(reference), _params(resumed)
    for path in expected:
        numpy.testing.assert_array_equal(actual[path], expected[path], err_msg=path)


@pytest.mark.parametrize('stop_at', [1, 6, 11, 19])   # 6 iterations per epoch
def test_stopped_anywhere_and_resumed_twice_ends_as_uninterrupted(tmp_path, stop_at):
    total = 20
    reference = _trainer(tmp_path / 'reference', (total, 'iteration'))
    reference.run()
    for at in (stop_at, stop_at + 1 if stop_at + 1 < total else None):
        trainer = _trainer(tmp_path / 'run', (total, 'iteration'), snapshot_every=5,
                           autoload=True)
        if at is not None:
            trainer.extend(_signal_at(at, signal.SIGTERM), name='sender')
            with pytest.raises(checkpoints.TrainingStopped):
                trainer.run()
            assert trainer.updater.iteration == at
    resumed = _trainer(tmp_path / 'run', (total, 'iteration'), snapshot_every=5,
                       autoload=True)
    resumed.extend(_signal_at(-1, signal.SIGTERM), name='sender')  # the same extensions
    resumed.run()
    expected, actual = _params(reference), _params(resumed)
    for path in expected:
        numpy.testing.assert_array_equal(actual[path], expected[path], err_msg=path)


def test_a_snapshot_written_at_that_step_is_not_written_twice(tmp_path):
    trainer = _trainer(tmp_path, (20, 'iteration'), snapshot_every=5)
    written = []

    def writer(name, out, target):
        written.append(name)
        open(os.path.join(out, name), 'w').close()
    trainer.get_extension('_Snapshot').writer = writer
    trainer.extend(_signal_at(10, signal.SIGTERM), name='sender')
    with pytest.raises(checkpoints.TrainingStopped):
        trainer.run()
    assert written == ['snapshot_iter_5', 'snapshot_iter_10']


def test_a_second_ctrl_c_interrupts_at_once(tmp_path):
    trainer = _trainer(tmp_path, (20, 'iteration'), snapshot_every=100)
    trainer.extend(_signal_at(3, signal.SIGINT, times=2), name='sender')
    with pytest.raises(KeyboardInterrupt):
        trainer.run(show_loop_exception_msg=False)
    assert trainer.updater.iteration == 3
    assert not any(name.startswith('snapshot') for name in os.listdir(tmp_path))


def _run_script(tmp_path, body, env=None):
    script = tmp_path / 'job.py'
    script.write_text(textwrap.dedent('''\
        import os, signal, sys, time
        sys.path.insert(0, {tests!r})
        from training.test_training_run import _trainer
        ''').format(tests=os.path.dirname(os.path.dirname(__file__))) + textwrap.dedent(body))
    environment = dict(os.environ, OMP_NUM_THREADS='1', **(env or {}))
    return subprocess.run([sys.executable, str(script), str(tmp_path / 'out')],
                          capture_output=True, text=True, timeout=120, env=environment)


@pytest.mark.slow
def test_a_second_sigterm_ends_the_process_at_once(tmp_path):
    result = _run_script(tmp_path, '''
        trainer = _trainer(sys.argv[1], (50, 'iteration'), snapshot_every=100)
        def send_twice(trainer):
            if trainer.updater.iteration == 2:
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGTERM)   # the same request, by another path
                time.sleep(1.5)
                os.kill(os.getpid(), signal.SIGTERM)   # asked again: end now
                time.sleep(5)
        trainer.extend(send_twice)
        trainer.run()
        ''')
    assert result.returncode == -signal.SIGTERM, result.stderr
    assert 'second SIGTERM: ending now, without a snapshot' in result.stderr
    assert not os.path.exists(tmp_path / 'out' / 'snapshot_iter_2')


@pytest.mark.slow
def test_no_step_boundary_within_the_grace_period_ends_at_once(tmp_path):
    result = _run_script(tmp_path, '''
        trainer = _trainer(sys.argv[1], (50, 'iteration'), snapshot_every=100)
        def stuck(trainer):
            if trainer.updater.iteration == 2:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(60)     # a step that does not end
        trainer.extend(stuck)
        trainer.run()
        ''', env={'DCHAIN_STOP_GRACE': '1'})
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert 'no step boundary within 1 s of SIGTERM ($DCHAIN_STOP_GRACE): ending now' \
        in result.stderr


@pytest.mark.slow
def test_without_a_snapshot_extension_sigterm_ends_the_process_as_usual(tmp_path):
    result = _run_script(tmp_path, '''
        trainer = _trainer(sys.argv[1], (50, 'iteration'))
        def send(trainer):
            if trainer.updater.iteration == 2:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
        trainer.extend(send)
        trainer.run()
        ''')
    assert result.returncode == -signal.SIGTERM, result.stderr


@pytest.mark.slow
def test_the_process_exits_with_the_documented_status(tmp_path):
    result = _run_script(tmp_path, '''
        trainer = _trainer(sys.argv[1], (50, 'iteration'), snapshot_every=100)
        def send(trainer):
            if trainer.updater.iteration == 4:
                os.kill(os.getpid(), signal.SIGUSR1)
        trainer.extend(send)
        trainer.run()
        print('not reached')
        ''')
    assert result.returncode == 75, result.stderr
    assert 'not reached' not in result.stdout
    assert 'dchain: SIGUSR1 received: stopping with a snapshot at the next step boundary' \
        in result.stderr
    assert 'dchain: stopped at iteration 4 on SIGUSR1; wrote {}; exiting with status 75'.format(
        os.path.join(str(tmp_path / 'out'), 'snapshot_iter_4')) in result.stderr
    assert os.path.isfile(tmp_path / 'out' / 'snapshot_iter_4')


def test_a_bad_grace_period_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv('DCHAIN_STOP_GRACE', 'soon')
    trainer = _trainer(tmp_path, (2, 'iteration'), snapshot_every=100)
    with pytest.raises(ValueError, match="DCHAIN_STOP_GRACE must be a number of seconds, got "
                                         "'soon'"):
        trainer.run(show_loop_exception_msg=False)
