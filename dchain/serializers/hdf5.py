"""HDF5 files in Chainer's layout: each child object a group, each value a dataset.

A saved None is an empty dataset (``h5py.Empty``), as Chainer writes it; a string is a
variable-length UTF-8 dataset.
"""
import os

import numpy

from dchain import backend
from dchain.serializers import base

_NOT_FOUND = (FileNotFoundError, IsADirectoryError, PermissionError)


def _h5py():
    import h5py  # loads the HDF5 C library, so only once an HDF5 file is used
    return h5py


class HDF5Serializer(base.Serializer):
    """Serializes an object into an HDF5 group.

    Args:
        group (h5py.Group): the group that this serializer writes into.
        compression (int): gzip level (0-9) of datasets with more than one element.
    """

    def __init__(self, group, compression=4):
        self.group = group
        self.compression = compression

    def __getitem__(self, key):
        return HDF5Serializer(self.group.require_group(key.strip('/')), self.compression)

    def __call__(self, key, value):
        key = key.lstrip('/')
        if value is None:
            self.group.create_dataset(key, data=_h5py().Empty('f'))
        elif isinstance(value, str):
            self.group.create_dataset(key, data=value)
        else:
            array = numpy.asarray(backend.to_cpu(value))
            if array.dtype.hasobject or array.dtype.kind == 'U':
                raise TypeError('HDF5Serializer: key {!r} holds a {} of dtype {}; an HDF5 file '
                                'stores numeric arrays, scalars, strings and None'.format(
                                    self.group.name.rstrip('/') + '/' + key,
                                    type(value).__name__, array.dtype))
            compression = None if array.size <= 1 else self.compression
            self.group.create_dataset(key, data=array, compression=compression)
        return value


class _HDF5Source:
    """Datasets of an HDF5 group; shapes and dtypes come from metadata, not the data."""

    def __init__(self, group):
        self.group = group
        self.name = base.describe_file(group.file.filename)
        self._h5py = _h5py()

    def entry(self, key):
        h5py = self._h5py
        dataset = self.group.get(key)
        if not isinstance(dataset, h5py.Dataset):
            return None
        if dataset.shape is None:
            return base.Entry(None, numpy.dtype('f'), None, is_none=True)
        if dataset.external or dataset.is_virtual:
            # its data would come from other files, named by the file being loaded
            where = 'external files {}'.format([entry[0] for entry in dataset.external]) \
                if dataset.external else 'a virtual dataset mapping other files'

            def read():
                raise ValueError('its data is stored in {}; parameters must be stored in '
                                 'the file itself, so it is refused'.format(where))
            return base.Entry(dataset.shape, dataset.dtype, read)
        if h5py.check_string_dtype(dataset.dtype) is not None:
            return base.Entry(dataset.shape, numpy.dtype('U'),
                              lambda: numpy.asarray(dataset.asstr()[()]))
        return base.Entry(dataset.shape, dataset.dtype, lambda: numpy.asarray(dataset[()]))


class HDF5Deserializer(base.SourceDeserializer):
    """Loads an object from an HDF5 group.

    Args:
        group (h5py.Group): the group to read from.
        strict (bool): raise KeyError when a key is missing (else leave that value as it is).
        path (str): the key prefix to load from, e.g. ``'updater/model:main/'``.
        ignore_names (str, callable or list of them): keys to skip.
    """

    _caller = 'HDF5Deserializer'

    def __init__(self, group, strict=True, path='', ignore_names=None):
        self.group = group
        self._setup(path, strict, ignore_names)
        self._source = _HDF5Source(group)


class _LoadHDF5(HDF5Deserializer):
    _caller = 'load_hdf5'


def _write(f, obj, compression):
    serializer = HDF5Serializer(f, compression)
    if isinstance(obj, dict):
        for key, value in obj.items():
            serializer(key, value)  # a key 'a/b' makes the groups on its way
    else:
        serializer.save(obj)


def save_hdf5(filename, obj, compression=4):
    """Save ``obj`` (a Link, Optimizer... or a dict of arrays) to an HDF5 file.

    Args:
        filename (str, path or file-like): where to write. A path is written atomically: a
            temporary file beside it, flushed to disk, then moved over it.
        obj: an object with ``serialize(serializer)``, or a dict key -> array.
        compression (int): gzip level (0-9).
    """
    h5py = _h5py()
    if isinstance(filename, (str, bytes, os.PathLike)):
        with base.atomic_path(filename) as temporary:
            with h5py.File(temporary, 'w') as f:
                _write(f, obj, compression)
    else:
        with h5py.File(filename, 'w') as f:
            _write(f, obj, compression)


def load_hdf5(filename, obj, path='', strict=True, ignore_names=None):
    """Load ``obj`` from an HDF5 file written by ``save_hdf5`` (dchain's or Chainer's).

    Every key is checked first (present, same shape, castable dtype), so a failed load leaves
    ``obj`` as it was.

    Args:
        filename (str, path or file-like): the file to read.
        obj: the object to load into.
        path (str): the key prefix to load from.
        strict (bool): raise KeyError when a key is missing (else leave that value).
        ignore_names (str, callable or list of them): keys to skip.
    """
    base.check_ignore_names('load_hdf5', ignore_names)
    try:
        f = _h5py().File(filename, 'r')
    except _NOT_FOUND:
        raise
    except OSError as error:
        raise ValueError('load_hdf5: {} is not an HDF5 file ({})'.format(
            base.describe_file(filename), error)) from error
    with f:
        _LoadHDF5(f, strict, path, ignore_names).load(obj)
