"""What is particular to npz files: the archive's layout, file objects, unsafe pickles."""
import errno
import io
import os
import re
import zipfile

import numpy
import pytest

import dchain
from dchain import serializers

from .models import Net, assert_same_state, fill, state

NET_KEYS = {'l1/W', 'l1/b', 'l2/W', 'l2/b', 'block/W', 'block/count', 'block/rate', 'block/flag',
            'block/label', 'block/step', 'block/stats', 'block/maybe'}


def test_layout_is_chainers(tmp_path, rng):
    net = fill(Net(), rng)
    serializers.save_npz(str(tmp_path / 'model.npz'), net)
    with numpy.load(str(tmp_path / 'model.npz'), allow_pickle=True) as f:
        assert set(f.files) == NET_KEYS
        numpy.testing.assert_array_equal(f['l1/W'], net.l1.W.data)
        scalars = {key: (f[key].shape, f[key].dtype, f[key][()]) for key in
                   ('block/count', 'block/rate', 'block/flag', 'block/label', 'block/step')}
        assert f['l2/W'].dtype == object and f['l2/W'][()] is None
    assert scalars == {'block/count': ((), numpy.dtype(int), 7),
                       'block/rate': ((), numpy.float64, 0.25),
                       'block/flag': ((), numpy.bool_, True),
                       'block/label': ((), numpy.dtype('<U7'), 'trained'),
                       'block/step': ((), numpy.int32, 11)}


@pytest.mark.parametrize('compression', [True, False])
def test_file_objects_and_compression(rng, compression):
    net = fill(Net(), rng)
    buffer = io.BytesIO()
    serializers.save_npz(buffer, net, compression=compression)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        methods = {info.compress_type for info in archive.infolist()}
    assert methods == {zipfile.ZIP_DEFLATED if compression else zipfile.ZIP_STORED}
    buffer.seek(0)
    target = Net()
    serializers.load_npz(buffer, target)
    assert_same_state(state(target), state(net))


def test_keys_that_numpy_savez_would_take_as_its_own_arguments(tmp_path):
    arrays = {'file': numpy.arange(3), 'allow_pickle': numpy.ones(2), 'args': numpy.zeros(1)}
    serializers.save_npz(str(tmp_path / 'a.npz'), arrays)
    with numpy.load(str(tmp_path / 'a.npz')) as f:
        assert set(f.files) == set(arrays)
        numpy.testing.assert_array_equal(f['file'], numpy.arange(3))


def test_dictionary_serializer_copies_to_the_host(device, rng):
    net = fill(Net(), rng).to_device(device)
    serializer = serializers.DictionarySerializer()
    assert serializer('x', 3) == 3
    serializer.save(net)
    assert set(serializer.target) == NET_KEYS | {'x'}
    assert all(isinstance(value, numpy.ndarray) for value in serializer.target.values())
    expected = dchain.backend.to_cpu(net.l1.W.data).copy()
    net.l1.W.data[...] = 0
    numpy.testing.assert_array_equal(serializer.target['l1/W'], expected)
    child = serializers.DictionarySerializer(path='a/')['/b/']
    assert child.path == 'a/b/'


def test_npz_deserializer_over_a_dict(rng):
    source = serializers.DictionarySerializer()
    source.save(fill(Net(), rng))
    target = Net()
    deserializer = serializers.NpzDeserializer(source.target)
    assert isinstance(deserializer, serializers.Deserializer)
    deserializer.load(target)
    assert target.block.label == 'trained'
    numpy.testing.assert_array_equal(target.l1.W.data, source.target['l1/W'])
    del source.target['block/flag']
    with pytest.raises(KeyError,
                       match=re.escape("NpzDeserializer: <dict> has no key 'block/flag'")):
        serializers.NpzDeserializer(source.target).load(Net())
    partial = Net()
    serializers.NpzDeserializer(source.target, strict=False).load(partial)
    assert partial.block.flag is False and partial.block.label == 'trained'


class _MakesDirectory:
    """Unpickling this creates a directory: the harm a hostile file could do."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


@pytest.mark.parametrize('make_object', [
    lambda path: _MakesDirectory(path), lambda path: {'a': 1}, lambda path: [None]])
def test_pickled_objects_are_refused_and_never_run(tmp_path, make_object):
    marker = tmp_path / 'unpickled'
    arrays = serializers.DictionarySerializer()
    arrays.save(Net())
    hostile = numpy.empty((), object)
    hostile[()] = make_object(str(marker))
    arrays.target['block/maybe'] = hostile
    filename = tmp_path / 'hostile.npz'
    numpy.savez(str(filename), **arrays.target)
    with pytest.raises(ValueError, match=re.escape(
            "load_npz: '{}' key 'block/maybe' holds a pickled Python object".format(filename))):
        serializers.load_npz(str(filename), Net())
    assert not marker.exists()


def test_unstorable_values_are_refused_on_save(tmp_path):
    net = Net()
    net.block.maybe = {'a': 1}
    with pytest.raises(TypeError, match="save_npz: key 'block/maybe' holds a dict; an npz file "
                                        "stores arrays, scalars, strings and None"):
        serializers.save_npz(str(tmp_path / 'model.npz'), net)
    assert os.listdir(tmp_path) == []


def test_a_single_npy_array_is_not_an_npz_file(tmp_path):
    numpy.save(str(tmp_path / 'array.npy'), numpy.arange(3))
    with pytest.raises(ValueError, match=re.escape(
            "load_npz: '{}' is not an npz file (it holds one .npy array)".format(
                tmp_path / 'array.npy'))):
        serializers.load_npz(str(tmp_path / 'array.npy'), Net())


def test_full_disk_mid_write_keeps_the_previous_file(tmp_path, rng, monkeypatch):
    filename = tmp_path / 'model.npz'
    serializers.save_npz(str(filename), Net())
    before = filename.read_bytes()
    write_array = numpy.lib.format.write_array
    written = []

    def fill_the_disk(member, array, **kwargs):
        if written:
            member.write(b'\0' * 100)
            raise OSError(errno.ENOSPC, 'No space left on device')
        written.append(array)
        write_array(member, array, **kwargs)

    monkeypatch.setattr(numpy.lib.format, 'write_array', fill_the_disk)
    with pytest.raises(OSError, match='No space left on device'):
        serializers.save_npz(str(filename), fill(Net(), rng))
    assert filename.read_bytes() == before
    assert os.listdir(tmp_path) == ['model.npz']


def test_written_file_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        serializers.save_npz(str(tmp_path / 'model.npz'), Net())
    finally:
        os.umask(old)
    assert os.stat(tmp_path / 'model.npz').st_mode & 0o777 == 0o644


@pytest.mark.parametrize('key', ['block/W', 'block/stats'])
def test_damaged_member_is_refused_before_anything_changes(tmp_path, rng, key):
    # block/W is large enough that its header is read without reaching the CRC at its end;
    # block/stats is small. Both are read after l1 and l2, which must stay as they were.
    source = fill(Net((64, 64)), rng)
    filename = tmp_path / 'model.npz'
    serializers.save_npz(str(filename), source, compression=False)
    content = bytearray(filename.read_bytes())
    data = (source.block.W.data if key == 'block/W' else source.block.stats).tobytes()
    offset = content.find(data)
    assert offset > 0
    content[offset + len(data) - 1] ^= 0xff
    filename.write_bytes(bytes(content))
    target = Net((64, 64))
    before = state(target)
    with pytest.raises(ValueError, match=re.escape(
            "load_npz: '{}' key '{}' cannot be read (BadZipFile: Bad CRC-32".format(
                filename, key))):
        serializers.load_npz(str(filename), target)
    assert_same_state(state(target), before)


class _Holder:
    """Loads whatever array is stored under 'W' (as an uninitialized parameter does)."""

    value = None

    def serialize(self, serializer):
        self.value = serializer('W', None)


def _npz_with_header(path, shape, data, compression=zipfile.ZIP_STORED):
    from numpy.lib import format as npy_format
    member = io.BytesIO()
    header = npy_format.header_data_from_array_1_0(numpy.zeros(1))
    header['shape'] = shape
    npy_format.write_array_header_1_0(member, header)
    member.write(data)
    with zipfile.ZipFile(path, 'w', compression) as archive:
        archive.writestr('W.npy', member.getvalue())


def test_header_declaring_more_than_the_file_holds_is_refused_before_allocating(tmp_path):
    import tracemalloc
    path = tmp_path / 'evil.npz'
    _npz_with_header(path, (1 << 28,), b'\0' * (2 << 20))  # 2 GiB declared, 2 MiB stored
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"load_npz: .*'W' cannot be read.*declares an "
                                             r"array of shape \(268435456,\).*refused before "
                                             r"allocating"):
            serializers.load_npz(str(path), _Holder())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


def test_highly_compressed_array_still_loads(tmp_path):
    zeros = numpy.zeros(6 << 20)  # 48 MiB of zeros deflate to about 50 KiB
    path = tmp_path / 'zeros.npz'
    numpy.savez_compressed(path, W=zeros)
    holder = _Holder()
    serializers.load_npz(str(path), holder)
    assert holder.value.shape == zeros.shape and not holder.value.any()
