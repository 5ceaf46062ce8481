"""examples/mnist.py on one process: a short run on the bundled digits, resume, bad input."""
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # every test here starts a process

EXAMPLE = os.path.join(os.path.dirname(__file__), '..', 'examples', 'mnist.py')


def run(*args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1', DCHAIN_OFFLINE='1')
    for name in ('PMI_RANK', 'PMI_SIZE', 'PMI_FD', 'MPI_LOCALNRANKS', 'HYDI_CONTROL_FD'):
        env.pop(name, None)
    return subprocess.run([sys.executable, EXAMPLE] + list(args), capture_output=True,
                          text=True, cwd=str(cwd), env=env, timeout=300)


def test_short_run_writes_log_model_and_accuracy(tmp_path):
    result = run('--epoch', '2', '--unit', '100', '--out', 'out', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith('final validation accuracy: ')
    assert float(last.split()[-1]) > 0.85
    log = json.loads((tmp_path / 'out' / 'log').read_text())
    assert [entry['epoch'] for entry in log] == [1, 2]
    assert log[-1]['validation/main/accuracy'] == pytest.approx(float(last.split()[-1]),
                                                                abs=1e-4)
    assert (tmp_path / 'out' / 'model.npz').is_file()
    assert (tmp_path / 'out' / 'snapshot_iter_80').is_file()
    pytest.importorskip('matplotlib')
    assert (tmp_path / 'out' / 'loss.png').is_file()
    assert (tmp_path / 'out' / 'accuracy.png').is_file()


def test_resume_continues_to_the_same_result(tmp_path):
    straight = run('--epoch', '2', '--unit', '30', '--out', 'a', '--frequency', '1',
                   cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    first = run('--epoch', '1', '--unit', '30', '--out', 'b', cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    resumed = run('--epoch', '2', '--unit', '30', '--out', 'b', '--resume',
                  'b/snapshot_iter_40', cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip().splitlines()[-1] == straight.stdout.strip().splitlines()[-1]


def test_bad_arguments(tmp_path):
    missing = run('--resume', 'no/such/snapshot', cwd=tmp_path)
    assert missing.returncode == 2
    assert '--resume: no such snapshot file: no/such/snapshot' in missing.stderr
    (tmp_path / 'not_a_snapshot').write_text('hello')
    bad = run('--epoch', '1', '--unit', '10', '--resume', 'not_a_snapshot', '--out', 'x',
              cwd=tmp_path)
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines()[-1].startswith(
        'mnist.py: --resume not_a_snapshot: not a snapshot of this run: ')
    assert 'Traceback' not in bad.stderr
    zero = run('--batchsize', '0', cwd=tmp_path)
    assert zero.returncode == 2 and '--batchsize must be positive, got 0' in zero.stderr
