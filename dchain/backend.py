"""Array backends: NumPy on the CPU, CuPy on NVIDIA GPUs.

This is the only module that imports cupy, and it does so lazily: ``import dchain`` never
loads CUDA. ``get_array_module`` sees CuPy arrays only once some code has imported cupy, so
on a CPU-only run it costs one dictionary lookup.
"""
import contextlib
import sys

import numpy

_cupy = None          # the cupy module once it has been imported by anyone
_cupy_error = None    # why cupy could not be imported, when it was tried

_INSTALL_HINT = ('install CuPy for your CUDA version, e.g. pip install "dchain[cuda12]" '
                 '(cupy-cuda12x) or "dchain[cuda13]" (cupy-cuda13x)')


def _load_cupy():
    """Import cupy on demand; return it or None. Never raises."""
    global _cupy, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            import cupy
            _cupy = cupy
        except Exception as error:  # ImportError, or a broken CUDA install
            _cupy_error = error
    return _cupy


def _seen_cupy():
    global _cupy
    if _cupy is None:
        _cupy = sys.modules.get('cupy')
    return _cupy


def is_available():
    """True when CuPy imports and at least one CUDA device is visible."""
    cupy = _load_cupy()
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def _require_cupy(what):
    cupy = _load_cupy()
    if cupy is None:
        reason = '' if _cupy_error is None else ' ({})'.format(_cupy_error)
        raise RuntimeError('{}: a GPU needs CuPy, which could not be imported{}; {}'.format(
            what, reason, _INSTALL_HINT))
    return cupy


def get_array_module(*args):
    """``cupy`` if any argument is a CuPy array (or a Variable holding one), else ``numpy``."""
    cupy = _cupy if _cupy is not None else _seen_cupy()
    if cupy is None:
        return numpy
    for x in args:
        x = getattr(x, '_data', x)  # a Variable's array
        if isinstance(x, cupy.ndarray):
            return cupy
    return numpy


def is_gpu_array(x):
    """True for a CuPy ndarray."""
    cupy = _cupy if _cupy is not None else _seen_cupy()
    return cupy is not None and isinstance(x, cupy.ndarray)


def to_cpu(array):
    """Copy a CuPy array to a NumPy array; NumPy arrays, scalars and None pass through.

    Lists and tuples are converted element by element.
    """
    if isinstance(array, (list, tuple)):
        return type(array)(to_cpu(a) for a in array)
    if is_gpu_array(array):
        return array.get()
    return array


def to_gpu(array, device=None):
    """Copy an array to a GPU (``device``: an int id, a CuPy device, or None: the current)."""
    if isinstance(array, (list, tuple)):
        return type(array)(to_gpu(a, device) for a in array)
    if array is None:
        return None
    cupy = _require_cupy('to_gpu')
    if isinstance(device, GpuDevice):
        device = device.id
    elif hasattr(device, 'id'):
        device = device.id
    with cupy.cuda.Device(device):
        return cupy.asarray(array)


class Device:
    """Where arrays live. ``xp`` is the array module; ``send`` moves an array there."""

    xp = numpy
    name = '@numpy'

    def use(self):
        """Make this device current (a no-op on the CPU)."""

    def create_context(self):
        """A context manager that makes this device current inside a ``with`` block."""
        return contextlib.nullcontext()

    def send(self, array):
        """Return ``array`` on this device (lists and tuples element by element)."""
        return to_cpu(array)

    def __eq__(self, other):
        return isinstance(other, Device) and self.name == other.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return '<Device {}>'.format(self.name)

    def __str__(self):
        return self.name


class CpuDevice(Device):
    """The host, with NumPy arrays."""


class GpuDevice(Device):
    """One CUDA device, with CuPy arrays."""

    def __init__(self, device_id):
        cupy = _require_cupy("get_device('@cupy:{}')".format(device_id))
        count = cupy.cuda.runtime.getDeviceCount()
        if not 0 <= device_id < count:
            raise ValueError('get_device: GPU id must be in [0, {}), got {}'.format(
                count, device_id))
        self.id = device_id
        self.xp = cupy
        self.name = '@cupy:{}'.format(device_id)
        self.device = cupy.cuda.Device(device_id)

    def use(self):
        self.device.use()

    def create_context(self):
        return self.device

    def send(self, array):
        if isinstance(array, (list, tuple)):
            return type(array)(self.send(a) for a in array)
        if array is None:
            return None
        with self.device:
            return self.xp.asarray(array)


class ChainerxDevice(Device):
    """Chainer's ChainerX device type, which dchain does not have (ChainerX does not port).

    The class exists so that Chainer code asking ``isinstance(device, ChainerxDevice)`` runs
    (the answer is always False); making one is refused.
    """

    def __init__(self, *args, **kwargs):
        raise RuntimeError('ChainerxDevice: dchain has no ChainerX; use the CPU (@numpy) or a '
                           'GPU (@cupy:N)')


CPU = CpuDevice()


def get_device(spec):
    """Return the Device that ``spec`` names.

    Accepts ``'@numpy'``, ``'@cupy:N'``, an int (``-1`` for the CPU, ``N >= 0`` for GPU N),
    ``None`` (the CPU), or a Device (returned as it is).
    """
    if isinstance(spec, Device):
        return spec
    if spec is None or spec == '@numpy' or spec == 'cpu':
        return CPU
    if isinstance(spec, bool):
        raise TypeError('get_device: spec must be a str or int, got bool')
    if isinstance(spec, (int, numpy.integer)):
        return CPU if spec < 0 else GpuDevice(int(spec))
    if isinstance(spec, str):
        if spec.startswith('@cupy:'):
            try:
                device_id = int(spec[len('@cupy:'):])
            except ValueError:
                device_id = None
            if device_id is not None and device_id >= 0:
                return GpuDevice(device_id)
        elif spec.lstrip('-').isdigit():
            return get_device(int(spec))
        raise ValueError("get_device: spec must be '@numpy', '@cupy:N', -1 or a GPU id, got {!r}"
                         .format(spec))
    raise TypeError('get_device: spec must be a str, int or Device, got {}'.format(
        type(spec).__name__))


def get_device_from_array(array):
    """The Device on which ``array`` lives."""
    if is_gpu_array(array):
        return GpuDevice(array.device.id)
    return CPU


def copyto(dst, src):
    """Copy the values of ``src`` into the array ``dst`` (NumPy or CuPy; either may be on
    another device), as Chainer's ``backend.copyto``."""
    if not (isinstance(dst, numpy.ndarray) or is_gpu_array(dst)):
        raise TypeError('copyto: dst must be a numpy.ndarray or cupy.ndarray, got {}'.format(
            type(dst).__name__))
    if isinstance(dst, numpy.ndarray):
        numpy.copyto(dst, to_cpu(src))
    else:
        cupy = _require_cupy('copyto')
        with dst.device:
            cupy.copyto(dst, cupy.asarray(src))


def using_device(device_spec):
    """``with using_device(spec):`` makes the device that ``spec`` names current (anything
    ``get_device`` accepts); on the CPU it does nothing."""
    return get_device(device_spec).create_context()


from dchain.backends import cuda  # noqa: E402,F401  (Chainer's ``chainer.backend.cuda``)
