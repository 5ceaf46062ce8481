"""sum and mean over axes."""
import numbers

from dchain.function_node import FunctionNode
from dchain.functions.array.broadcast import broadcast_to
from dchain.functions.array.reshape import reshape
from dchain.utils import force_array


def _normalize_axis(label, axis, ndim):
    if axis is None:
        return None
    # a plain int (the common case) skips the ABC check, which costs about a microsecond
    axes = (axis,) if type(axis) is int or isinstance(axis, numbers.Integral) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError('{}: axis {} is out of range for {} dimensions'.format(label, a, ndim))
    axes = tuple(sorted(a % ndim for a in axes))
    if len(set(axes)) != len(axes):
        raise ValueError('{}: axis {} repeats an axis'.format(label, axis))
    return axes


def _keepdims_shape(shape, axes):
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(FunctionNode):
    label = 'sum'

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, inputs):
        x, = inputs
        self._in_shape = x.shape
        return force_array(x.sum(axis=self.axis, keepdims=self.keepdims)),

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        if not self.keepdims and self._in_shape:
            gy = reshape(gy, _keepdims_shape(self._in_shape, self.axis))
        return broadcast_to(gy, self._in_shape),


def sum(x, axis=None, keepdims=False):  # noqa: A001  (F.sum, as in Chainer)
    """Sum of ``x`` over ``axis`` (an int, a tuple, or None for all)."""
    axis = _normalize_axis('sum', axis, x.ndim)
    return Sum(axis, keepdims).apply((x,))[0]


def mean(x, axis=None, weights=None, keepdims=False):
    """Mean of ``x`` over ``axis``, or its weighted average when ``weights`` is given.

    ``F.average`` is the same function (Chainer's name; ``F.mean`` is its alias there too).

    Args:
        x: a Variable or array.
        axis (None, int or tuple of ints): the axes to average over; None for all.
        weights (None, Variable or array): weights of the average, of the dtype of ``x``.
            With ``axis=None`` they have the shape of ``x``; with one axis they are a 1-D
            array of length ``x.shape[axis]``; a tuple of several axes is refused with
            weights, as in Chainer. The result is ``sum(x * w, axis) / sum(w)`` and is
            differentiable in ``x`` and in ``weights``.
        keepdims (bool): keep the averaged axes with length one.
    Returns:
        A Variable of the dtype of ``x``.
    """
    axis = _normalize_axis('mean', axis, x.ndim)
    if weights is not None:
        return _weighted_mean(x, axis, weights, keepdims)
    count = 1
    for i, n in enumerate(x.shape):
        if axis is None or i in axis:
            count *= n
    if count == 0:
        raise ValueError('mean: cannot average over an empty axis (shape {})'.format(x.shape))
    return Sum(axis, keepdims).apply((x,))[0] * (1.0 / count)


def _weighted_mean(x, axis, weights, keepdims):
    if weights.dtype != x.dtype:
        raise TypeError('mean: weights must have the dtype of x ({}), got {}'.format(
            x.dtype, weights.dtype))
    if axis is None:
        if weights.shape != x.shape:
            raise ValueError('mean: weights must have the shape of x {} when axis is None, got '
                             '{}'.format(x.shape, weights.shape))
    elif len(axis) > 1:
        raise ValueError('mean: weights need a single axis, got axis {}'.format(axis))
    else:
        length = x.shape[axis[0]]
        if weights.shape != (length,):
            raise ValueError('mean: weights must have shape ({},) for axis {} of x of shape {}, '
                             'got {}'.format(length, axis[0], x.shape, weights.shape))
    total = Sum(None, False).apply((weights,))[0]
    if axis is not None:
        shape = tuple(n if i == axis[0] else 1 for i, n in enumerate(x.shape))
        weights = broadcast_to(reshape(weights, shape), x.shape)
    weighted = Sum(axis, keepdims).apply((x * weights,))[0]
    return weighted / broadcast_to(total, weighted.shape)


average = mean
