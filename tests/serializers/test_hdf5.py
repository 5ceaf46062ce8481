"""What is particular to HDF5 files: groups, empty datasets for None, compression, groups as
targets."""
import io
import os
import re

import h5py
import numpy
import pytest

from dchain import serializers

from .models import Net, assert_same_state, fill, state


def test_layout_is_chainers(tmp_path, rng):
    net = fill(Net(), rng)
    serializers.save_hdf5(str(tmp_path / 'model.h5'), net, compression=7)
    with h5py.File(str(tmp_path / 'model.h5'), 'r') as f:
        assert set(f) == {'l1', 'l2', 'block'}
        assert set(f['block']) == {'W', 'count', 'rate', 'flag', 'label', 'step', 'stats', 'maybe'}
        numpy.testing.assert_array_equal(f['l1/W'][()], net.l1.W.data)
        assert f['l1/W'].compression == 'gzip' and f['l1/W'].compression_opts == 7
        assert f['block/count'].compression is None and f['block/count'][()] == 7
        assert f['block/step'].dtype == numpy.int32
        assert f['l2/W'].shape is None and f['block/maybe'].shape is None
        assert f['block/label'].asstr()[()] == 'trained'


def test_groups_of_an_open_file(tmp_path, rng):
    nets = [fill(Net(), rng), fill(Net(), rng)]
    with h5py.File(str(tmp_path / 'two.h5'), 'w') as f:
        for index, net in enumerate(nets):
            serializers.HDF5Serializer(f.create_group('net{}'.format(index))).save(net)
    with h5py.File(str(tmp_path / 'two.h5'), 'r') as f:
        for index, net in enumerate(nets):
            target = Net()
            serializers.HDF5Deserializer(f['net{}'.format(index)]).load(target)
            assert_same_state(state(target), state(net))
        target = Net()
        serializers.HDF5Deserializer(f, path='net1').load(target)
        assert_same_state(state(target), state(nets[1]))
        with pytest.raises(KeyError, match=re.escape(
                "HDF5Deserializer: '{}' has no key 'net2/l1/W'".format(tmp_path / 'two.h5'))):
            serializers.HDF5Deserializer(f, path='net2/').load(Net())


def test_file_objects(rng):
    net = fill(Net(), rng)
    buffer = io.BytesIO()
    serializers.save_hdf5(buffer, net)
    buffer.seek(0)
    target = Net()
    serializers.load_hdf5(buffer, target)
    assert_same_state(state(target), state(net))


def test_unstorable_values_are_refused_on_save(tmp_path):
    net = Net()
    net.block.maybe = numpy.array(['a', 'b'])
    with pytest.raises(TypeError, match="HDF5Serializer: key '/block/maybe' holds a ndarray of "
                                        "dtype <U1; an HDF5 file stores numeric arrays"):
        serializers.save_hdf5(str(tmp_path / 'model.h5'), net)
    assert os.listdir(tmp_path) == []


class _Holder:
    value = None

    def serialize(self, serializer):
        self.value = serializer('W', None)


def test_parameters_in_external_files_are_refused(tmp_path):
    secret = tmp_path / 'secret.bin'
    secret.write_bytes(numpy.arange(4, dtype=numpy.float64).tobytes())
    path = tmp_path / 'model.h5'
    with h5py.File(path, 'w') as f:
        f.create_dataset('W', shape=(4,), dtype=numpy.float64, external=[(str(secret), 0, 32)])
    with pytest.raises(ValueError, match=r"load_hdf5: .*'W' cannot be read.*external files "
                                         r".*secret\.bin.*refused"):
        serializers.load_hdf5(str(path), _Holder())


def test_virtual_datasets_are_refused(tmp_path):
    other = tmp_path / 'other.h5'
    with h5py.File(other, 'w') as f:
        f['data'] = numpy.arange(4.)
    layout = h5py.VirtualLayout(shape=(4,), dtype=numpy.float64)
    layout[:] = h5py.VirtualSource(str(other), 'data', shape=(4,))
    path = tmp_path / 'model.h5'
    with h5py.File(path, 'w') as f:
        f.create_virtual_dataset('W', layout)
    with pytest.raises(ValueError, match='virtual dataset mapping other files'):
        serializers.load_hdf5(str(path), _Holder())
