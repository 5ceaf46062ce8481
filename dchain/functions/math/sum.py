"""sum and mean over axes."""
import numbers

from dchain.function_node import FunctionNode
from dchain.functions.array.broadcast import broadcast_to
from dchain.functions.array.reshape import reshape
from dchain.utils import force_array


def _normalize_axis(label, axis, ndim):
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
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


def mean(x, axis=None, keepdims=False):
    """Mean of ``x`` over ``axis`` (an int, a tuple, or None for all)."""
    axis = _normalize_axis('mean', axis, x.ndim)
    count = 1
    for i, n in enumerate(x.shape):
        if axis is None or i in axis:
            count *= n
    if count == 0:
        raise ValueError('mean: cannot average over an empty axis (shape {})'.format(x.shape))
    return Sum(axis, keepdims).apply((x,))[0] * (1.0 / count)
