"""Save and load through both formats (npz and HDF5): values, keys, options and refusals."""
import os
import re

import numpy
import pytest

import dchain
import dchain.links as L

from .models import Block, Net, assert_same_state, fill, state

DTYPES = [numpy.float16, numpy.float32, numpy.float64]
SHAPES = [(4, 3), (5,), (), (2, 3, 4), (0, 3)]


def _saved(tmp_path, file_format, net):
    save, _, name = file_format
    filename = tmp_path / name
    save(str(filename), net)
    return filename


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('shape', SHAPES)
def test_roundtrip(tmp_path, file_format, device, rng, dtype, shape):
    source = fill(Net(shape, dtype), rng)
    source.l2(dchain.Variable(numpy.ones((1, 4), numpy.float32)))  # initializes l2/W
    source.l2.W.data[...] = rng.uniform(-1, 1, (2, 4))
    filename = _saved(tmp_path, file_format, source.to_device(device))
    target = Net(shape, dtype).to_device(device)
    file_format[1](str(filename), target)
    loaded = state(target)
    assert_same_state(loaded, state(source))
    assert target.block.W.device == device and target.l1.W.device == device
    assert target.l2.W.shape == (2, 4)  # the lazily sized parameter takes its shape from the file


def test_saved_none_leaves_the_parameter_as_it_is(tmp_path, file_format, rng):
    filename = _saved(tmp_path, file_format, fill(Net(), rng))  # l2/W is saved as None
    target = Net()
    file_format[1](str(filename), target)
    assert target.l2.W.data is None
    assert target.block.maybe is None
    initialized = Net()
    initialized.l2(numpy.ones((1, 4), numpy.float32))
    before = initialized.l2.W.data.copy()
    file_format[1](str(filename), initialized)
    numpy.testing.assert_array_equal(initialized.l2.W.data, before)


def test_loaded_values_are_the_saved_ones_not_shared(tmp_path, file_format, rng):
    source = fill(Net(), rng)
    filename = _saved(tmp_path, file_format, source)
    source.l1.W.data[...] = 0
    target = Net()
    file_format[1](str(filename), target)
    assert not (target.l1.W.data == 0).all()
    target.l1.W.data[...] = 1
    assert (source.l1.W.data == 0).all()


def test_load_casts_within_a_kind(tmp_path, file_format, rng):
    source = fill(Net((4, 3), numpy.float64), rng)
    filename = _saved(tmp_path, file_format, source)
    target = Net((4, 3), numpy.float16)
    file_format[1](str(filename), target)
    assert target.block.W.dtype == numpy.float16
    numpy.testing.assert_array_equal(target.block.W.data, source.block.W.data.astype(numpy.float16))


def test_path_loads_a_subtree(tmp_path, file_format, rng):
    outer = dchain.Chain()
    with outer.init_scope():
        outer.model = fill(Net(), rng)
    filename = _saved(tmp_path, file_format, outer)
    for path in ('model/', 'model'):
        target = Net()
        file_format[1](str(filename), target, path=path)
        assert_same_state(state(target), state(outer.model))


def test_ignore_names(tmp_path, file_format, rng):
    source = fill(Net(), rng)
    filename = _saved(tmp_path, file_format, source)
    for ignore_names in ('l1/W', ['l1/W'], lambda key: key.startswith('l1/W'),
                         [lambda key: False, 'l1/W']):
        target = Net()
        before = target.l1.W.data.copy()
        file_format[1](str(filename), target, ignore_names=ignore_names)
        numpy.testing.assert_array_equal(target.l1.W.data, before)
        numpy.testing.assert_array_equal(target.l1.b.data, source.l1.b.data)
        assert target.block.count == 7


def test_bad_ignore_names(tmp_path, file_format, rng):
    filename = _saved(tmp_path, file_format, Net())
    message = (file_format[1].__name__
               + ': ignore_names must be a key, a callable or a list of them, got int')
    with pytest.raises(TypeError, match=message):
        file_format[1](str(filename), Net(), ignore_names=[3])


def test_strict_false_skips_missing_keys(tmp_path, file_format, rng):
    small = dchain.Chain()
    with small.init_scope():
        small.l1 = fill(Net(), rng).l1
    filename = _saved(tmp_path, file_format, small)
    target = Net()
    file_format[1](str(filename), target, strict=False)
    numpy.testing.assert_array_equal(target.l1.W.data, small.l1.W.data)
    assert target.block.count == 0


def _expect_untouched(load, filename, target, error, match, **kwargs):
    before = state(target)
    with pytest.raises(error, match=match):
        load(str(filename), target, **kwargs)
    assert_same_state(state(target), before)


def test_missing_key_is_refused_before_anything_changes(tmp_path, file_format, rng):
    source = dchain.Chain()
    with source.init_scope():
        source.l1 = L.Linear(3, 4)
        source.block = Block()
    filename = _saved(tmp_path, file_format, source)
    target = fill(Net(), rng)  # has l2, which the file lacks
    load = file_format[1]
    _expect_untouched(load, filename, target, KeyError,
                      re.escape("{}: '{}' has no key 'l2/W'".format(load.__name__, filename)))


def test_wrong_shape_is_refused_before_anything_changes(tmp_path, file_format, rng):
    filename = _saved(tmp_path, file_format, fill(Net((4, 3)), rng))
    load = file_format[1]
    _expect_untouched(load, filename, Net((3, 4)), ValueError, re.escape(
        "{}: '{}' key 'block/W' has shape (4, 3), but the array it loads into has shape (3, 4)"
        .format(load.__name__, filename)))


def test_incompatible_dtype_is_refused_before_anything_changes(tmp_path, file_format, rng):
    filename = _saved(tmp_path, file_format, fill(Net((4, 3)), rng))
    load = file_format[1]
    _expect_untouched(load, filename, Net((4, 3), numpy.int32), TypeError, re.escape(
        "{}: '{}' key 'block/W' has dtype float32, which does not convert to the int32 of the "
        "array it loads into".format(load.__name__, filename)))


def test_unconvertible_scalar_is_refused_and_scalars_are_restored(tmp_path, file_format, rng):
    source = fill(Net(), rng)
    source.block.rate = 2.5
    filename = _saved(tmp_path, file_format, source)
    target = Net()
    target.block.rate = 3  # an int: a float does not convert to it
    load = file_format[1]
    # 'count' is converted by the checking pass before 'rate' fails; it must be put back
    _expect_untouched(load, filename, target, TypeError, re.escape(
        "{}: '{}' key 'block/rate' has dtype float64, which does not convert to int"
        .format(load.__name__, filename)))
    assert target.block.count == 0


def test_array_into_scalar_is_refused(tmp_path, file_format, rng):
    source = fill(Net(), rng)
    source.block.count = numpy.arange(3)
    filename = _saved(tmp_path, file_format, source)
    load = file_format[1]
    _expect_untouched(load, filename, Net(), ValueError, re.escape(
        "{}: '{}' key 'block/count' has shape (3,), but a scalar int loads from it"
        .format(load.__name__, filename)))


@pytest.mark.parametrize('content', [b'', b'not a model file at all\n', b'PK\x03\x04broken'])
def test_not_a_model_file(tmp_path, file_format, content):
    filename = tmp_path / file_format[2]
    filename.write_bytes(content)
    load = file_format[1]
    kind = 'an npz' if load.__name__ == 'load_npz' else 'an HDF5'
    _expect_untouched(load, filename, Net(), ValueError, re.escape(
        "{}: '{}' is not {} file".format(load.__name__, filename, kind)))


def test_missing_file(tmp_path, file_format):
    with pytest.raises(FileNotFoundError):
        file_format[1](str(tmp_path / 'nothing' / file_format[2]), Net())


class _Failing(dchain.Chain):
    """Serializes its first child, then fails, as a bug or a full disk would."""

    def serialize(self, serializer):
        super().serialize(serializer)
        raise RuntimeError('serialization failed')


def test_failed_save_keeps_the_previous_file(tmp_path, file_format, rng):
    save, load, name = file_format
    filename = _saved(tmp_path, file_format, fill(Net(), rng))
    before = filename.read_bytes()
    failing = _Failing()
    with failing.init_scope():
        failing.l1 = L.Linear(3, 4)
    with pytest.raises(RuntimeError, match='serialization failed'):
        save(str(filename), failing)
    assert filename.read_bytes() == before
    assert os.listdir(tmp_path) == [name]
    target = Net()
    load(str(filename), target)
    assert target.block.count == 7


def test_save_replaces_and_leaves_no_temporary(tmp_path, file_format, rng):
    save, load, name = file_format
    filename = _saved(tmp_path, file_format, Net())
    save(filename, fill(Net(), rng))  # a pathlib.Path works as well as a str
    assert os.listdir(tmp_path) == [name]
    target = Net()
    load(filename, target)
    assert target.block.label == 'trained'


def test_save_a_dict(tmp_path, file_format, rng):
    save, load, name = file_format
    source = fill(Net(), rng)
    arrays = {'l1/W': source.l1.W.data, 'l1/b': source.l1.b.data}
    save(str(tmp_path / name), arrays)
    target = Net()
    load(str(tmp_path / name), target, ignore_names=lambda key: not key.startswith('l1/'))
    numpy.testing.assert_array_equal(target.l1.W.data, source.l1.W.data)
    numpy.testing.assert_array_equal(target.l1.b.data, source.l1.b.data)


def test_save_writes_through_a_symbolic_link(tmp_path, file_format, rng):
    save, load, name = file_format
    (tmp_path / 'runs').mkdir()
    target_file = tmp_path / 'runs' / name
    link = tmp_path / ('latest-' + name)
    link.symlink_to(target_file)
    save(str(link), fill(Net(), rng))
    assert link.is_symlink() and target_file.is_file()
    assert sorted(os.listdir(tmp_path / 'runs')) == [name]
    target = Net()
    load(str(target_file), target)
    assert target.block.count == 7


def test_save_into_a_missing_folder(tmp_path, file_format):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / 'missing'))):
        file_format[0](str(tmp_path / 'missing' / file_format[2]), Net())
