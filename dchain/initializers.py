"""Initializers: callables that fill an array in place, as in Chainer.

Each draws from a ``numpy.random.Generator``: the one given as ``rng``, or else dchain's global
generator: NumPy's global random state, as in Chainer (``numpy.random.seed(n)`` makes it
repeatable), or dchain's own generator once ``dchain.random.seed(n)`` is called. Values are
drawn on the host, so a model initializes alike on the CPU and a GPU.
"""
import math

import numpy

from dchain import backend
from dchain import random as _random
from dchain.config import get_dtype


class Initializer:
    """Base class: ``initializer(array)`` fills ``array`` in place.

    Args:
        dtype: the dtype of arrays this initializer creates (``config.dtype`` when None).
        rng: a ``numpy.random.Generator``; None draws from dchain's global generator
            (``dchain.random``).
    """

    def __init__(self, dtype=None, rng=None):
        self.dtype = dtype
        self.rng = rng

    def _generator(self):
        return self.rng if self.rng is not None else _random.get_generator()

    def __call__(self, array):
        if array.dtype.kind != 'f':
            raise TypeError('{}: can only fill float arrays, got {}'.format(
                type(self).__name__, array.dtype))
        values = self.generate(array.shape)
        if backend.is_gpu_array(array):
            array[...] = backend.get_array_module(array).asarray(values)
        else:
            array[...] = values

    def generate(self, shape):
        """Return a float64 NumPy array of ``shape`` with this initializer's values."""
        raise NotImplementedError


def _fans(shape, name):
    if len(shape) < 2:
        raise ValueError('{}: needs an array of at least 2 dimensions to compute fan-in and '
                         'fan-out, got shape {}'.format(name, shape))
    receptive = 1
    for n in shape[2:]:
        receptive *= n
    return shape[1] * receptive, shape[0] * receptive


class Constant(Initializer):
    """Fill with ``fill_value`` (a scalar or an array broadcastable to the shape)."""

    def __init__(self, fill_value, dtype=None):
        super().__init__(dtype)
        self.fill_value = fill_value

    def __call__(self, array):
        xp = backend.get_array_module(array)
        array[...] = xp.asarray(backend.to_cpu(self.fill_value) if xp is numpy
                                else self.fill_value)

    def generate(self, shape):
        return numpy.broadcast_to(numpy.asarray(backend.to_cpu(self.fill_value)), shape)


class Zero(Constant):
    """Fill with zeros."""

    def __init__(self, dtype=None):
        super().__init__(0.0, dtype)


class One(Constant):
    """Fill with ones."""

    def __init__(self, dtype=None):
        super().__init__(1.0, dtype)


class NaN(Constant):
    """Fill with NaN (what ``Link.add_param`` gives a parameter that has no initializer)."""

    def __init__(self, dtype=None):
        super().__init__(numpy.nan, dtype)


class Identity(Initializer):
    """``scale`` times the identity matrix (square 2-D arrays)."""

    def __init__(self, scale=1.0, dtype=None):
        super().__init__(dtype)
        self.scale = scale

    def generate(self, shape):
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError('Identity: needs a square matrix, got shape {}'.format(shape))
        return numpy.identity(shape[0]) * self.scale


class Normal(Initializer):
    """Draw from N(0, scale**2)."""

    def __init__(self, scale=0.05, dtype=None, rng=None):
        super().__init__(dtype, rng)
        self.scale = scale

    def generate(self, shape):
        return self._generator().normal(0.0, self.scale, shape)


class Uniform(Initializer):
    """Draw from U(-scale, scale)."""

    def __init__(self, scale=0.05, dtype=None, rng=None):
        super().__init__(dtype, rng)
        self.scale = scale

    def generate(self, shape):
        return self._generator().uniform(-self.scale, self.scale, shape)


class _FanScaled(Initializer):
    """Scale by a fan: normal with std ``scale*sqrt(gain/fan)`` or uniform with bound
    ``scale*sqrt(3*gain/fan)``."""

    gain = 1.0
    fan = 'in'
    distribution = 'normal'

    def __init__(self, scale=1.0, dtype=None, rng=None):
        super().__init__(dtype, rng)
        self.scale = scale

    def generate(self, shape):
        fan_in, fan_out = _fans(shape, type(self).__name__)
        fan = {'in': fan_in, 'out': fan_out, 'avg': (fan_in + fan_out) / 2}[self.fan]
        if self.distribution == 'normal':
            return self._generator().normal(0.0, self.scale * math.sqrt(self.gain / fan), shape)
        bound = self.scale * math.sqrt(3.0 * self.gain / fan)
        return self._generator().uniform(-bound, bound, shape)


class LeCunNormal(_FanScaled):
    """N(0, scale**2 / fan_in): the default of Linear and Convolution2D, as in Chainer."""


class LeCunUniform(_FanScaled):
    """U(-s, s) with s = scale * sqrt(3 / fan_in)."""
    distribution = 'uniform'


class GlorotNormal(_FanScaled):
    """N(0, scale**2 * 2 / (fan_in + fan_out))."""
    fan = 'avg'


class GlorotUniform(_FanScaled):
    """U(-s, s) with s = scale * sqrt(6 / (fan_in + fan_out))."""
    fan = 'avg'
    distribution = 'uniform'


class HeNormal(_FanScaled):
    """N(0, scale**2 * 2 / fan) with fan = fan_in (``fan_option='fan_out'`` for fan_out)."""
    gain = 2.0

    def __init__(self, scale=1.0, dtype=None, fan_option='fan_in', rng=None):
        super().__init__(scale, dtype, rng)
        if fan_option not in ('fan_in', 'fan_out'):
            raise ValueError("HeNormal: fan_option must be 'fan_in' or 'fan_out', got {!r}"
                             .format(fan_option))
        self.fan = fan_option[4:]


class HeUniform(HeNormal):
    """U(-s, s) with s = scale * sqrt(6 / fan_in)."""
    distribution = 'uniform'


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``scale`` (1.1 by default, as in Chainer), over the
    array flattened to 2-D."""

    def __init__(self, scale=1.1, dtype=None, rng=None):
        super().__init__(dtype, rng)
        self.scale = scale

    def generate(self, shape):
        if len(shape) < 2:
            raise ValueError('Orthogonal: needs at least 2 dimensions, got shape {}'.format(shape))
        rows = shape[0]
        cols = 1
        for n in shape[1:]:
            cols *= n
        a = self._generator().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = numpy.linalg.qr(a)
        q *= numpy.sign(numpy.diag(r))  # a uniform draw over orthogonal matrices
        if rows < cols:
            q = q.T
        return (self.scale * q).reshape(shape)


def _get_initializer(initializer):
    if initializer is None:
        return LeCunNormal()
    if numpy.isscalar(initializer) and not isinstance(initializer, (str, bytes)):
        return Constant(initializer)
    if isinstance(initializer, numpy.ndarray) or backend.is_gpu_array(initializer):
        return Constant(initializer)
    if not callable(initializer):
        raise TypeError('initializer must be an Initializer, a scalar or an array, got {}'.format(
            type(initializer).__name__))
    return initializer


def generate_array(initializer, shape, xp=numpy, dtype=None):
    """Create an array of ``shape`` on the host and fill it with ``initializer``.

    The dtype is ``dtype``, else the initializer's, else ``config.dtype`` (float32 unless
    changed; ``mixed16`` gives float16), resolved by ``dchain.get_dtype``. (GPU arrays are
    made by sending this host array, so a seed gives the same model on any device.)
    """
    initializer = _get_initializer(initializer)
    own = getattr(initializer, 'dtype', None)
    if dtype is not None and own is not None and get_dtype(dtype) != get_dtype(own):
        raise ValueError('generate_array: dtype {} differs from the initializer\'s dtype {}'
                         .format(get_dtype(dtype), get_dtype(own)))
    dtype = get_dtype(own if dtype is None else dtype)
    array = numpy.empty(shape, dtype=dtype)
    initializer(array)
    return array
