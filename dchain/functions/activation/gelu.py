"""gelu: Gaussian error linear unit, ``x * Phi(x)`` with Phi the standard normal CDF.

NumPy has no erf, so Phi comes from fits of the form ``erfc(z) = t exp(-z**2 + P(t))`` with
``t = 1 / (1 + z / 2)``, which stay accurate in the tails: for float16/float32 Numerical
Recipes' 10-term ``erfcc`` (relative error below 1.1e-7 over the whole line), for float64 a
degree-20 P from a Chebyshev interpolation of erfc (relative error below 3e-13). Both are plain
array arithmetic, so NumPy and CuPy share them. The gradient uses the exact density
``exp(-x**2 / 2) / sqrt(2 pi)``.
"""
import math

import numpy

from dchain import backend
from dchain.function_node import FunctionNode, check_dtype
from dchain.functions.activation.tanh import tanh
from dchain.functions.math.exponential import exp
from dchain.variable import as_variable

# erfc(z) ~= t * exp(-z**2 + P(t)), t = 1 / (1 + z / 2), for z >= 0; P's coefficients by degree.
_ERFC_COEFFICIENTS = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
                      0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)
_ERFC_COEFFICIENTS_64 = (
    -1.2655121234847417, 1.0000000000862155, 0.3749999874207473, 0.08333405498672426,
    -0.08595921366480981, -0.1433542729458413, -0.09654942566853181, 0.06922437182868224,
    -0.104575235621855, 1.1612574149588557, -3.3634855959925183, 7.51831463941955,
    -12.409130792366554, 10.938938941921762, 1.4612846997842013, -16.502537546709476,
    21.533550667887823, -15.283804923811235, 6.535521833298235, -1.5930407544852827,
    0.17152327315815377)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _half_erfc(z, xp):
    """``erfc(z) / 2`` for arrays ``z >= 0``, evaluated in place where possible."""
    coefficients = _ERFC_COEFFICIENTS_64 if z.dtype == numpy.float64 else _ERFC_COEFFICIENTS
    t = z * 0.5
    t += 1
    xp.reciprocal(t, out=t)
    p = xp.full_like(t, coefficients[-1])
    for c in coefficients[-2::-1]:
        p *= t
        p += c
    p -= z * z
    xp.exp(p, out=p)
    p *= t
    p *= 0.5
    return p


class NormalCDF(FunctionNode):
    """Phi(x), the probability that a standard normal variable is below x."""

    label = 'gelu'
    _retained_inputs = (0,)

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        # float16 lacks the range and precision for the fit; evaluate in float32. A 1-D view
        # keeps NumPy from turning 0-dimensional results into scalars (no in-place on those).
        work = (x.astype(numpy.float32) if x.dtype == numpy.float16 else x).reshape(-1)
        tail = _half_erfc(abs(work) * _SQRT_HALF, xp)  # Phi(-|x|), accurate in the tail
        y = xp.where(work < 0, tail, 1 - tail)
        return y.astype(x.dtype, copy=False).reshape(x.shape),

    def backward(self, indexes, grad_outputs):
        x, = self.inputs
        return grad_outputs[0] * (exp(x * x * -0.5) * _INV_SQRT_2PI),


def gelu(x, approximate='none'):
    """Gaussian error linear unit, ``x * Phi(x)``, as in PyTorch's ``gelu``.

    Args:
        x: a float Variable or array of any shape.
        approximate (str): ``'none'`` (default) for the exact form with the normal CDF, or
            ``'tanh'`` for ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x**3)))``.
    Returns:
        A Variable of the same shape and dtype.
    """
    check_dtype('gelu', 'x', x, 'f', 'a float array')
    x = as_variable(x)  # raw 0-dimensional arithmetic would give NumPy scalars
    if approximate == 'none':
        return x * NormalCDF().apply((x,))[0]
    if approximate == 'tanh':
        inner = (x * x * 0.044715 + 1) * x * _SQRT_2_OVER_PI
        return x * (tanh(inner) * 0.5 + 0.5)
    raise ValueError("gelu: approximate must be 'none' or 'tanh', got {!r}".format(approximate))
