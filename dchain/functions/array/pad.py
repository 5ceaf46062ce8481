"""pad: add borders to an array."""
import numpy

from dchain import backend
from dchain.function_node import FunctionNode
from dchain.functions.array.get_item import get_item

# Modes whose every output element is a copy of one input element: padding is then a gather
# along each axis, and get_item's gradient (a scatter-add) is the exact gradient.
_GATHER_MODES = ('edge', 'reflect', 'symmetric', 'wrap')


class Pad(FunctionNode):
    """Constant padding; the gradient is the central slice of the output gradient."""

    label = 'pad'

    def __init__(self, pad_width, constant_values):
        self.pad_width = pad_width
        self.constant_values = constant_values

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        self._slices = tuple(slice(before, before + n)
                             for (before, _), n in zip(self.pad_width, x.shape))
        return xp.pad(x, self.pad_width, mode='constant',
                      constant_values=self.constant_values),

    def backward(self, indexes, grad_outputs):
        return get_item(grad_outputs[0], self._slices),


def _normalize_pad_width(pad_width, ndim):
    try:
        widths = numpy.broadcast_to(numpy.asarray(pad_width), (ndim, 2))
    except ValueError:
        raise ValueError('pad: pad_width must be an int, a (before, after) pair or one pair per '
                         'axis of {} axes, got {!r}'.format(ndim, pad_width)) from None
    if widths.dtype.kind not in 'iu':
        raise TypeError('pad: pad_width must hold integers, got {!r}'.format(pad_width))
    if (widths < 0).any():
        raise ValueError('pad: pad_width must not be negative, got {!r}'.format(pad_width))
    return tuple((int(before), int(after)) for before, after in widths)


def pad(x, pad_width, mode='constant', constant_values=0):
    """Pad ``x`` on the borders of each axis.

    Args:
        x: a Variable or array.
        pad_width: an int, a ``(before, after)`` pair, or one pair per axis (NumPy's forms).
        mode (str): ``'constant'`` (Chainer's mode), or ``'edge'``, ``'reflect'``,
            ``'symmetric'``, ``'wrap'`` as in ``numpy.pad``.
        constant_values: the fill value of ``'constant'`` mode (a scalar or NumPy's per-axis
            forms).
    Returns:
        A Variable of the padded shape and the dtype of x.
    """
    widths = _normalize_pad_width(pad_width, x.ndim)
    if mode == 'constant':
        return Pad(widths, constant_values).apply((x,))[0]
    if mode not in _GATHER_MODES:
        raise ValueError("pad: mode must be 'constant' or one of {}, got {!r}".format(
            ', '.join(repr(m) for m in _GATHER_MODES), mode))
    for axis, (before, after) in enumerate(widths):
        if x.shape[axis] == 0 and before + after:
            raise ValueError('pad: cannot pad the empty axis {} of x of shape {} in {!r} mode'
                             .format(axis, x.shape, mode))
    xp = backend.get_array_module(x)
    for axis, (before, after) in enumerate(widths):
        if before == 0 and after == 0:
            continue
        index = numpy.pad(numpy.arange(x.shape[axis]), (before, after), mode=mode)
        x = get_item(x, (slice(None),) * axis + (xp.asarray(index),))
    return x
