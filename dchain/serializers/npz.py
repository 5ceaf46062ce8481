"""NPZ files in Chainer's layout: one array per key, ``predictor/l1/W`` stored as the zip member
``predictor/l1/W.npy``.

A saved None is a 0-d object array, as Chainer writes it. Loading never unpickles anything
else: an npz file may come from anywhere, and a pickle can run arbitrary code.
"""
import os
import pickle
import zipfile

import numpy
from numpy.lib import format as npy_format

from dchain.serializers import base

_RECONSTRUCT = numpy.empty(0).__reduce__()[0]
# the only globals a pickled 0-d object array holding None refers to (NumPy 1 and 2 names)
_NONE_PICKLE_GLOBALS = {
    ('numpy.core.multiarray', '_reconstruct'): _RECONSTRUCT,
    ('numpy._core.multiarray', '_reconstruct'): _RECONSTRUCT,
    ('numpy', 'ndarray'): numpy.ndarray,
    ('numpy', 'dtype'): numpy.dtype,
}
_NOT_FOUND = (FileNotFoundError, IsADirectoryError, PermissionError)
_MAX_DEFLATE_RATIO = 1032  # the most that deflate can compress (runs of one byte value)


class DictionarySerializer(base.Serializer):
    """Serializes an object into a flat dictionary of NumPy arrays keyed by path.

    Args:
        target (dict): the dictionary to fill (a new one when None).
        path (str): the key prefix of this serializer (``''`` at the root).
        copy (bool): store copies of host arrays (True), or the arrays themselves when the
            target is written out before they can change (as ``save_npz`` does).
    Attributes:
        target (dict): key -> array; ``numpy.savez`` or ``save_npz`` can write it out.
    """

    def __init__(self, target=None, path='', copy=True):
        self.target = {} if target is None else target
        self.path = path
        self.copy = copy

    def __getitem__(self, key):
        return DictionarySerializer(self.target, self.path + key.strip('/') + '/', self.copy)

    def __call__(self, key, value):
        self.target[self.path + key.lstrip('/')] = base.to_host(value, self.copy)
        return value


class _NoneUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        found = _NONE_PICKLE_GLOBALS.get((module, name))
        if found is None:
            raise pickle.UnpicklingError('{}.{} is not allowed'.format(module, name))
        return found


class _NpzSource:
    """Entries of an npz archive (or of any mapping of arrays, such as
    ``DictionarySerializer.target``), with shapes read from the headers alone."""

    def __init__(self, npz):
        self.npz = npz
        self.name = base.describe_file(getattr(npz, 'fid', None) or npz)
        self._archive = getattr(npz, 'zip', None)
        if self._archive is not None:
            self._members = {(name[:-4] if name.endswith('.npy') else name): name
                             for name in self._archive.namelist()}

    def entry(self, key):
        npz = self.npz
        if self._archive is None:
            if key not in npz:
                return None
            array = numpy.asarray(npz[key])
            return base.Entry(array.shape, array.dtype, lambda: array,
                              is_none=array.dtype.hasobject and array.shape == ()
                              and array[()] is None)
        member = self._members.get(key)
        if member is None:
            return None
        with self._archive.open(member) as f:
            version = npy_format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = npy_format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = npy_format.read_array_header_2_0(f)
            else:
                array = npz[key]
                shape, dtype = array.shape, array.dtype
            is_none = False
            if dtype.hasobject and shape == ():
                try:
                    is_none = _NoneUnpickler(f).load()[()] is None
                except Exception:
                    is_none = False
            refusal = None if dtype.hasobject else self._oversized(member, f.tell(), shape,
                                                                   dtype)
        if refusal is not None:
            def read():
                raise ValueError(refusal)
            return base.Entry(shape, dtype, read)
        return base.Entry(shape, dtype, lambda: npz[key], is_none=is_none)

    def _oversized(self, member, header_size, shape, dtype):
        # NumPy allocates the whole array a header declares before reading the data, so a
        # header is checked against what its zip member can hold: the member's size, and at
        # most _MAX_DEFLATE_RATIO times its compressed size.
        info = self._archive.getinfo(member)
        declared = int(numpy.prod(shape, dtype=numpy.float64)) * dtype.itemsize
        holds = min(info.file_size, info.compress_size * _MAX_DEFLATE_RATIO + 1024)
        if header_size + declared <= holds:
            return None
        return ('its header declares an array of shape {} and dtype {} ({} bytes), more than '
                'the file holds ({} bytes); refused before allocating'.format(
                    shape, dtype, declared, max(holds - header_size, 0)))


class NpzDeserializer(base.SourceDeserializer):
    """Loads an object from an npz archive (what ``numpy.load`` returns, or a dict of arrays).

    Args:
        npz: the archive.
        path (str): the key prefix to load from, e.g. ``'updater/model:main/'`` to load the
            model out of a trainer snapshot.
        strict (bool): raise KeyError when a key is missing (else leave that value as it is).
        ignore_names (str, callable or list of them): keys to skip; a callable takes the key
            and returns True to skip it.
    """

    _caller = 'NpzDeserializer'

    def __init__(self, npz, path='', strict=True, ignore_names=None):
        self.npz = npz
        self.ignore_names = ignore_names
        self._setup(path, strict, ignore_names)
        self._source = _NpzSource(npz)


class _LoadNpz(NpzDeserializer):
    _caller = 'load_npz'


def _write_npz(file, target, compression):
    for key, array in target.items():
        if array.dtype.hasobject and not (array.shape == () and array[()] is None):
            raise TypeError('save_npz: key {!r} holds a {}; an npz file stores arrays, '
                            'scalars, strings and None'.format(key, type(array[()]).__name__))
    method = zipfile.ZIP_DEFLATED if compression else zipfile.ZIP_STORED
    with zipfile.ZipFile(file, mode='w', compression=method, allowZip64=True) as archive:
        for key, array in target.items():
            # written by hand rather than numpy.savez(**target), where a key named 'file'
            # would collide with savez's own argument
            with archive.open(key + '.npy', 'w', force_zip64=True) as member:
                npy_format.write_array(member, array, allow_pickle=True)


def save_npz(file, obj, compression=True):
    """Save ``obj`` (a Link, Optimizer, Trainer... or a dict of arrays) to an npz file.

    Args:
        file (str, path or file-like): where to write. A path is written atomically: a
            temporary file beside it, flushed to disk, then moved over it.
        obj: an object with ``serialize(serializer)``, or a dict key -> array.
        compression (bool): deflate the zip members.
    """
    if isinstance(obj, dict):
        target = {key: base.to_host(value, copy=False) for key, value in obj.items()}
    else:
        # Written before this call returns, so the arrays need no copy (a snapshot of a large
        # model would otherwise double its memory while saving).
        serializer = DictionarySerializer(copy=False)
        serializer.save(obj)
        target = serializer.target
    if isinstance(file, (str, bytes, os.PathLike)):
        with base.atomic_path(file) as temporary:
            with open(temporary, 'wb') as f:
                _write_npz(f, target, compression)
    else:
        _write_npz(file, target, compression)


def load_npz(file, obj, path='', strict=True, ignore_names=None):
    """Load ``obj`` from an npz file written by ``save_npz`` (dchain's or Chainer's).

    Every key is checked first (present, same shape, castable dtype), so a failed load leaves
    ``obj`` as it was.

    Args:
        file (str, path or file-like): the file to read.
        obj: the object to load into (``obj.serialize(deserializer)``).
        path (str): the key prefix to load from, e.g. ``'updater/model:main/'``.
        strict (bool): raise KeyError when a key is missing (else leave that value).
        ignore_names (str, callable or list of them): keys to skip.
    """
    base.check_ignore_names('load_npz', ignore_names)
    name = base.describe_file(file)
    try:
        npz = numpy.load(file, allow_pickle=False)
    except _NOT_FOUND:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as error:
        raise ValueError('load_npz: {} is not an npz file ({})'.format(name, error)) from error
    if isinstance(npz, numpy.ndarray):
        raise ValueError('load_npz: {} is not an npz file (it holds one .npy array)'.format(name))
    with npz:
        _LoadNpz(npz, path, strict, ignore_names).load(obj)
