"""examples/mnist.py --dtype mixed16 trains to float32's accuracy (within 0.01) with float16
parameters, and the float32 default stays in force after it in the same process."""
import os
import sys

import numpy
import pytest

import dchain


@pytest.mark.slow
def test_mixed16_reaches_float32_accuracy(tmp_path, monkeypatch):
    monkeypatch.setenv('DCHAIN_OFFLINE', '1')
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'examples'))
    try:
        import mnist
    finally:
        sys.path.pop(0)
    common = ['--epoch', '2', '--unit', '100', '--communicator', 'single']
    accuracy = {dtype: mnist.main(common + ['--dtype', dtype, '--out', str(tmp_path / dtype)])
                for dtype in ('float32', 'mixed16')}
    assert accuracy['float32'] > 0.85
    assert abs(accuracy['mixed16'] - accuracy['float32']) < 0.01
    with numpy.load(tmp_path / 'mixed16' / 'model.npz') as saved:
        assert saved['predictor/l1/W'].dtype == numpy.float16
    assert dchain.config.dtype == numpy.float32  # the option did not leak out of main
