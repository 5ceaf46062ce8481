"""Chainer's ``chainer.backends.cuda`` (alias ``dchain.cuda``): CuPy helpers.

``import dchain`` does not import CuPy: ``cuda.cupy``, ``cuda.ndarray`` and ``cuda.available``
are looked up on first use (through ``dchain.backend``, the one place that imports cupy).
Without CuPy, ``cuda.cupy`` is a placeholder object, so ``xp is cuda.cupy`` is simply False on
the CPU as in Chainer, and ``cuda.available`` is False.

- ``to_cpu(array)``, ``to_gpu(array, device=None)``, ``copy(array, out_device=None)``
- ``get_device_from_id(device_id)``, ``get_device_from_array(*arrays)``: ``cupy.cuda.Device``
  objects (``DummyDevice`` for host arrays)
- ``get_array_module(*args)``, ``check_cuda_available()``
"""
import numpy

from dchain import backend

cudnn_enabled = False  # dchain uses no cuDNN-specific code paths


class _NoCupy:
    """What ``cuda.cupy`` is when CuPy cannot be imported: nothing is ``this``."""

    def __repr__(self):
        return '<cupy is not available>'


_NO_CUPY = _NoCupy()


def __getattr__(name):
    if name == 'cupy':
        cupy = backend._load_cupy()
        return _NO_CUPY if cupy is None else cupy
    if name == 'ndarray':
        cupy = backend._load_cupy()
        return _PlaceholderArray if cupy is None else cupy.ndarray
    if name == 'available':
        return backend.is_available()
    if name in ('Device', 'Event', 'Stream'):
        return getattr(backend._require_cupy('cuda.' + name).cuda, name)
    raise AttributeError("module 'dchain.backends.cuda' has no attribute {!r}".format(name))


class _PlaceholderArray:
    """``cuda.ndarray`` without CuPy: a class no array is an instance of."""


class DummyDeviceType:
    """The 'device' of host arrays: usable as a context manager, does nothing; ``int()`` is -1."""

    id = -1

    def __int__(self):
        return -1

    def __enter__(self):
        return self

    def __exit__(self, *args):
        pass

    def use(self):
        """Do nothing (the host is always current)."""

    def synchronize(self):
        """Do nothing (host operations are synchronous)."""

    def __eq__(self, other):
        return isinstance(other, DummyDeviceType)

    def __hash__(self):
        return hash(DummyDeviceType)


DummyDevice = DummyDeviceType()


def check_cuda_available():
    """Raise RuntimeError, saying how to install CuPy, unless a GPU can be used."""
    backend._require_cupy('check_cuda_available')
    if not backend.is_available():
        raise RuntimeError('check_cuda_available: CuPy is installed but no CUDA device is '
                           'visible')


def get_device_from_id(device_id):
    """The ``cupy.cuda.Device`` of GPU ``device_id`` (an int, 0 when None); ``DummyDevice``
    for a negative id (the CPU)."""
    if device_id is not None:
        if isinstance(device_id, bool) or not isinstance(device_id, (int, numpy.integer)):
            raise TypeError('get_device_from_id: device_id must be an int or None, got {}'
                            .format(type(device_id).__name__))
        if device_id < 0:
            return DummyDevice
    cupy = backend._require_cupy('get_device_from_id')
    return cupy.cuda.Device(0 if device_id is None else int(device_id))


def get_device_from_array(*arrays):
    """The ``cupy.cuda.Device`` of the first CuPy array among ``arrays``, else
    ``DummyDevice``."""
    for array in arrays:
        array = getattr(array, '_data', array)  # a Variable's array
        if backend.is_gpu_array(array):
            return array.device
    return DummyDevice


def to_cpu(array, stream=None):
    """A NumPy copy of a CuPy array; NumPy arrays, scalars and None as they are; lists and
    tuples element by element."""
    return backend.to_cpu(array)


def to_gpu(array, device=None, stream=None):
    """A CuPy copy of ``array`` on GPU ``device`` (an id, a Device, or None: the current one);
    lists and tuples element by element."""
    return backend.to_gpu(array, device)


def copy(array, out=None, out_device=None, stream=None):
    """Copy a CuPy array, to ``out`` when given, else to a new array on ``out_device``."""
    cupy = backend._require_cupy('cuda.copy')
    if not isinstance(array, cupy.ndarray):
        raise TypeError('cuda.copy: array must be a cupy.ndarray, got {}'.format(
            type(array).__name__))
    if out is None:
        device = array.device if out_device is None else get_device_from_id(
            getattr(out_device, 'id', out_device))
        with device:
            out = cupy.empty_like(array)
    with array.device:
        cupy.copyto(out, array)
    return out


def get_array_module(*args):
    """``cupy`` when any argument is a CuPy array (or a Variable holding one), else ``numpy``."""
    return backend.get_array_module(*args)
