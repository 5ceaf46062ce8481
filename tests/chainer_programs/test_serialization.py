"""Chainer's examples/serialization (save.py, then load.py) ported by changing imports only:
the model is saved as NPZ and HDF5 in Chainer's key layout and loaded back into new models."""
import h5py
import numpy
import pytest

from porting import check, run_program

pytestmark = pytest.mark.slow  # every test here starts a process


def test_save_then_load(tmp_path):
    stdout = check(run_program('serialization/save.py', tmp_path=tmp_path))
    assert 'model.npz saved!' in stdout and 'model.h5 saved!' in stdout
    folder = tmp_path / 'serialization'
    with numpy.load(str(folder / 'model.npz')) as saved:
        assert sorted(saved.keys()) == ['l1/W', 'l1/b', 'l2/W', 'l2/b', 'l3/W', 'l3/b',
                                        'persistent']
        assert saved['l1/W'].shape == (100, 784) and saved['l1/W'].dtype == numpy.float32
        assert saved['persistent'].shape == (10, 10)
        npz_weight = saved['l2/W']
    with h5py.File(str(folder / 'model.h5'), 'r') as f:
        assert sorted(f.keys()) == ['l1', 'l2', 'l3', 'persistent']
        numpy.testing.assert_array_equal(f['l2/W'][()], npz_weight)

    stdout = check(run_program('serialization/load.py', tmp_path=tmp_path))
    # load.py asserts that the NPZ and HDF5 copies agree parameter by parameter
    assert 'model.npz loaded!' in stdout and 'model.h5 loaded!' in stdout
    for line in ('/l1/W (100, 784)', '/l2/W (100, 100)', '/l3/b (10,)'):
        assert line in stdout
