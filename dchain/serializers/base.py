"""The serialization protocol shared by every file format.

``obj.serialize(serializer)`` walks an object: ``value = serializer(key, value)`` per value and
``child.serialize(serializer[name])`` per child. A Serializer stores each value and returns it;
a Deserializer returns the stored value (scalars converted to the type of ``value``) or copies
it into ``value`` in place (arrays). Keys join names with '/', as in Chainer
(``predictor/l1/W``).

Loading is checked before it changes anything: ``Deserializer.load`` first walks the object with
a checking pass (every key present, every array readable, of the right shape and a castable
dtype, every scalar convertible), then loads. The arrays read by the checking pass are kept for
the loading pass. Scalars are converted in the checking pass too, since objects may branch on
them; a failed check puts them back.
"""
import contextlib
import errno
import os
import secrets

import numpy

from dchain import backend


class AbstractSerializer:
    """Base of serializers and deserializers: ``s[name]`` is the child for ``name``, and
    ``s(key, value)`` saves or loads one value."""

    def __getitem__(self, key):
        raise NotImplementedError

    def __call__(self, key, value):
        raise NotImplementedError


class Serializer(AbstractSerializer):
    """Base of the saving serializers."""

    def save(self, obj):
        """Save ``obj`` (the same as ``obj.serialize(self)``)."""
        obj.serialize(self)


class Deserializer(AbstractSerializer):
    """Base of the loading deserializers."""

    def load(self, obj):
        """Load ``obj`` (the same as ``obj.serialize(self)``)."""
        obj.serialize(self)


def describe_file(file):
    """How error messages name ``file``: a path, or a file object's name when it has one."""
    if isinstance(file, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(file))
    name = getattr(file, 'name', None)
    if isinstance(name, (str, bytes)):
        return repr(os.fsdecode(name))
    return '<{}>'.format(type(file).__name__)


def to_host(value, copy=True):
    """A value as it is stored: a NumPy array copied off the device and, with ``copy``, off
    the object (so later updates do not change what was saved); None as a 0-d object array,
    as Chainer does."""
    if backend.is_gpu_array(value):
        return value.get()
    return numpy.array(value, copy=True) if copy else numpy.asarray(value)


@contextlib.contextmanager
def atomic_path(filename):
    """Yield a fresh temporary path beside ``filename``; when the block succeeds, flush it to
    disk and move it onto ``filename``. On failure the temporary file is removed, so a crash
    or a full disk never leaves a half-written ``filename``."""
    # through a symbolic link to its target, as open() would write, keeping the link
    directory, base = os.path.split(os.path.realpath(os.fsdecode(filename)))
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, 'no such folder to write into', directory)
    while True:
        temporary = os.path.join(directory, '.{}.{}.tmp'.format(base, secrets.token_hex(4)))
        try:
            # 0o666 so the umask, not the temporary-file default 0o600, sets the final mode
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield temporary
        fd = os.open(temporary, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, os.path.join(directory, base))
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    # makes the rename itself durable; not possible on every platform, and never an error
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Entry:
    """What a file holds under one key: shape and dtype (read without the data where the
    format allows) and ``read()`` for the array; ``is_none`` for a saved None."""

    __slots__ = ('shape', 'dtype', 'is_none', 'read')

    def __init__(self, shape, dtype, read, is_none=False):
        self.shape = shape
        self.dtype = dtype
        self.read = read
        self.is_none = is_none


def check_ignore_names(caller, ignore_names):
    """``ignore_names`` (a key, a callable or a list of them) as a tuple; TypeError otherwise."""
    if ignore_names is None:
        return ()
    names = ignore_names if isinstance(ignore_names, (list, tuple)) else (ignore_names,)
    for name in names:
        if not (isinstance(name, str) or callable(name)):
            raise TypeError('{}: ignore_names must be a key, a callable or a list of them, '
                            'got {}'.format(caller, type(name).__name__))
    return tuple(names)


class SourceDeserializer(Deserializer):
    """A Deserializer over a source of entries (an npz archive, an HDF5 group).

    Subclasses set ``self._source``: an object with ``entry(key)`` returning an Entry or None
    and ``name``, the file as error messages name it. ``_caller`` is the public name that
    error messages start with.
    """

    _caller = 'load'

    def _setup(self, path, strict, ignore_names):
        if path and not path.endswith('/'):
            path += '/'
        self.path = path
        self.strict = strict
        self._ignore = check_ignore_names(self._caller, ignore_names)
        self._mode = 'load'    # 'check' in the checking pass, 'restore' to undo it
        self._original = None  # key -> the scalar that the checking pass replaced
        self._read_arrays = None  # key -> the array read by the checking pass

    def _clone(self):
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __getitem__(self, key):
        child = self._clone()
        child.path = self.path + key.strip('/') + '/'
        return child

    def _ignored(self, key):
        for name in self._ignore:
            if key == name if isinstance(name, str) else name(key):
                return True
        return False

    def _where(self, key):
        return '{}: {} key {!r}'.format(self._caller, self._source.name, key)

    def __call__(self, key, value):
        key = self.path + key.lstrip('/')
        mode = self._mode
        if mode == 'restore':
            return self._original.get(key, value)
        if self._ignore and self._ignored(key):
            return value
        try:
            entry = self._source.entry(key)
        except Exception as error:  # zlib, CRC and truncation errors of a damaged file
            raise ValueError('{} cannot be read ({}: {})'.format(
                self._where(key), type(error).__name__, error)) from error
        if entry is None:
            if self.strict:
                raise KeyError('{}: {} has no key {!r}'.format(
                    self._caller, self._source.name, key))
            return value
        if entry.is_none:
            return value if mode == 'check' else None
        if entry.dtype.hasobject:
            # only None is unpickled (by the format's own safe reader): pickles can run code
            raise ValueError('{} holds a pickled Python object; only arrays, scalars, strings '
                             'and None load'.format(self._where(key)))
        if value is None:
            stored = self._read(key, entry)
            return value if mode == 'check' else stored
        if isinstance(value, numpy.ndarray) or backend.is_gpu_array(value):
            self._check_array(key, entry, value)
            stored = self._read(key, entry)
            if mode == 'load':
                _copy_into(value, stored)
            return value
        converted = self._convert(key, entry, value)
        if mode == 'check':
            self._original.setdefault(key, value)
        return converted

    def _read(self, key, entry):
        # The checking pass reads every array (a damaged member fails there, before anything
        # is changed) and keeps it for the loading pass, so nothing is decompressed twice.
        read = self._read_arrays
        if read is not None and key in read:
            return read.pop(key) if self._mode == 'load' else read[key]
        try:
            stored = entry.read()
        except Exception as error:  # zlib, CRC and truncation errors of a damaged file
            raise ValueError('{} cannot be read ({}: {})'.format(
                self._where(key), type(error).__name__, error)) from error
        if read is not None and self._mode == 'check':
            read[key] = stored
        return stored

    def _check_array(self, key, entry, value):
        if entry.shape != value.shape:
            raise ValueError('{} has shape {}, but the array it loads into has shape {}'.format(
                self._where(key), entry.shape, value.shape))
        if not numpy.can_cast(entry.dtype, value.dtype, 'same_kind'):
            raise TypeError('{} has dtype {}, which does not convert to the {} of the array it '
                            'loads into'.format(self._where(key), entry.dtype, value.dtype))

    def _convert(self, key, entry, value):
        value_type = type(value)
        if entry.shape is None or int(numpy.prod(entry.shape)) != 1:
            raise ValueError('{} has shape {}, but a scalar {} loads from it'.format(
                self._where(key), entry.shape, value_type.__name__))
        dtype = entry.dtype
        # as Chainer: numbers convert only where NumPy would cast them safely, except that any
        # integer fits a Python int
        if (issubclass(dtype.type, numpy.number)
                and not (issubclass(dtype.type, numpy.integer) and value_type is int)
                and not _can_cast(dtype, value_type)):
            raise TypeError('{} has dtype {}, which does not convert to {}'.format(
                self._where(key), dtype, value_type.__name__))
        scalar = self._read(key, entry).reshape(())[()]
        try:
            return value_type(scalar)
        except (TypeError, ValueError) as error:
            raise TypeError('{} holds {!r}, which does not convert to {}: {}'.format(
                self._where(key), scalar, value_type.__name__, error)) from error

    def load(self, obj):
        """Load ``obj``: a checking pass over every key first, so that a missing key, a wrong
        shape or dtype raises before anything is changed; then the real pass."""
        read_arrays = {}
        checker = self._clone()
        checker._mode = 'check'
        checker._original = {}
        checker._read_arrays = read_arrays
        try:
            obj.serialize(checker)
        except BaseException:
            checker._mode = 'restore'
            with contextlib.suppress(Exception):
                obj.serialize(checker)
            raise
        loader = self._clone()
        loader._read_arrays = read_arrays
        obj.serialize(loader)


def _can_cast(dtype, value_type):
    try:
        return numpy.can_cast(dtype, value_type)
    except TypeError:  # not a NumPy type at all: the conversion itself decides
        return True


def _copy_into(value, stored):
    if isinstance(value, numpy.ndarray):
        numpy.copyto(value, stored, casting='same_kind')
    else:
        with value.device:
            value[...] = backend.get_array_module(value).asarray(stored)
