"""The classic Chainer tutorial (examples/tutorial.py) runs as written with dchain."""
import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'examples', 'tutorial.py')


def _load_example():
    spec = importlib.util.spec_from_file_location('tutorial_example', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tutorial_trains_saves_and_reloads(tmp_path):
    tutorial = _load_example()
    path = str(tmp_path / 'my.model')
    first_loss, last_loss, difference = tutorial.main(steps=500, out=path, verbose=False)
    assert os.path.exists(path)
    assert last_loss < 0.5 * first_loss
    assert difference == 0.0


@pytest.mark.slow
def test_tutorial_runs_as_a_script(tmp_path):
    environment = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
                       OMP_NUM_THREADS='1')
    result = subprocess.run([sys.executable, SCRIPT, '--steps', '20'], cwd=str(tmp_path),
                            env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'after 20 steps' in result.stdout
    assert 'the reloaded model differs by 0' in result.stdout
    assert (tmp_path / 'my.model').exists()
