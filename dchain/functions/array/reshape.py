"""reshape, flatten, expand_dims, squeeze: views with a different shape."""
import numbers

from dchain.function_node import FunctionNode
from dchain.variable import Variable


class Reshape(FunctionNode):

    def __init__(self, shape):
        self.shape = shape

    def forward(self, inputs):
        x, = inputs
        self._in_shape = x.shape
        try:
            return x.reshape(self.shape),
        except ValueError:
            raise ValueError('reshape: cannot reshape an array of shape {} into {}'.format(
                x.shape, self.shape)) from None

    def backward(self, indexes, grad_outputs):
        return reshape(grad_outputs[0], self._in_shape),


def reshape(x, shape):
    """Give ``x`` a new ``shape`` (one entry may be -1)."""
    # a tuple (the common case) skips the ABC check, which costs about a microsecond
    if type(shape) is not tuple:
        shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    if isinstance(x, Variable) and x.shape == shape:
        return x
    return Reshape(shape).apply((x,))[0]


def flatten(x):
    """Flatten ``x`` into one dimension."""
    return reshape(x, (-1,))


def expand_dims(x, axis):
    """Insert an axis of length 1 at ``axis``."""
    shape = list(x.shape)
    ndim = len(shape) + 1
    if not -ndim <= axis < ndim:
        raise ValueError('expand_dims: axis must be in [{}, {}), got {}'.format(-ndim, ndim, axis))
    shape.insert(axis % ndim, 1)
    return reshape(x, tuple(shape))


def squeeze(x, axis=None):
    """Remove axes of length 1 (all of them, or those in ``axis``)."""
    shape = x.shape
    if axis is None:
        axes = [i for i, n in enumerate(shape) if n == 1]
    else:
        axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
        for a in axes:
            if not -len(shape) <= a < len(shape):
                raise ValueError('squeeze: axis {} is out of range for shape {}'.format(a, shape))
        axes = [a % len(shape) for a in axes]
        for a in axes:
            if shape[a] != 1:
                raise ValueError('squeeze: axis {} of shape {} does not have length 1'.format(
                    a, shape))
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))
