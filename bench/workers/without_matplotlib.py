"""Run a training script with matplotlib unavailable, so that PlotReport draws nothing.

    python bench/workers/without_matplotlib.py SCRIPT [ARGS...]

The memory row runs dchain's example and Chainer's script through this: whether plots are
drawn then depends on neither environment (drawing imports matplotlib, about 27 MiB of peak
RSS, and Chainer silently skips PlotReport where matplotlib is not installed).
"""
import runpy
import sys

sys.modules['matplotlib'] = None  # import matplotlib now raises ImportError
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name='__main__')
