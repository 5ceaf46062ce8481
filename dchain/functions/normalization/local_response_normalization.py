"""local_response_normalization: AlexNet's normalization across neighbouring channels.

Composed of differentiable functions (square, a padded sum of shifted channel slices, a
power), so gradients of any order come for free.
"""
import numbers

from dchain.functions.array.get_item import get_item
from dchain.functions.array.pad import pad
from dchain.functions.math.basic_math import add
from dchain.variable import as_variable


def local_response_normalization(x, n=5, k=2, alpha=1e-4, beta=0.75):
    """Local response normalization across channels (Krizhevsky et al., 2012, section 3.3).

    ``y[:, c] = x[:, c] / (k + alpha * sum(x[:, j] ** 2 for j in window(c))) ** beta`` where
    the window holds the channels ``c - n // 2`` to ``c + n // 2`` that exist.

    Args:
        x: float input of shape (N, C, ...) (at least 2 dimensions).
        n (int): the width of the channel window (odd in practice; an even ``n`` spans
            ``n // 2`` channels on each side, as in Chainer).
        k (float): the additive constant of the denominator.
        alpha (float): the scale of the sum of squares.
        beta (float): the power of the denominator.
    Returns:
        A Variable of the shape and dtype of ``x``.
    """
    label = 'local_response_normalization'
    x = as_variable(x)
    if x.dtype.kind != 'f':
        raise TypeError('{}: x must be a float array, got {}'.format(label, x.dtype))
    if x.ndim < 2:
        raise ValueError('{}: x must have shape (N, C, ...), got {}'.format(label, x.shape))
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError('{}: n must be a positive int, got {!r}'.format(label, n))
    for name, value in (('k', k), ('alpha', alpha), ('beta', beta)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError('{}: {} must be a real number, got {}'.format(
                label, name, type(value).__name__))
    half = int(n) // 2
    channels = x.shape[1]
    square = x * x
    if half:
        padded = pad(square, [(0, 0), (half, half)] + [(0, 0)] * (x.ndim - 2))
        windows = [get_item(padded, (slice(None), slice(i, i + channels)))
                   for i in range(2 * half + 1)]
        square = add(*windows) if len(windows) > 2 else add(windows[0], windows[1])
    scale = square * x.dtype.type(alpha) + x.dtype.type(k)
    return x * scale ** -float(beta)
