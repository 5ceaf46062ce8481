"""broadcast_to and sum_to: each the other's gradient."""
from dchain import backend
from dchain.function_node import FunctionNode
from dchain.utils import sum_to_axes
from dchain.variable import Variable, as_variable


class BroadcastTo(FunctionNode):

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        self._in_shape = x.shape
        try:
            y = xp.broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError('broadcast_to: cannot broadcast shape {} to {}'.format(
                x.shape, self.shape)) from None
        return y,

    def backward(self, indexes, grad_outputs):
        return sum_to(grad_outputs[0], self._in_shape),


class SumTo(FunctionNode):

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, inputs):
        x, = inputs
        self._in_shape = x.shape
        if len(self.shape) > x.ndim:
            raise ValueError('sum_to: cannot sum shape {} to the larger shape {}'.format(
                x.shape, self.shape))
        axes, lead = sum_to_axes(x.shape, self.shape)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        if lead:
            y = y.reshape(y.shape[lead:])
        if y.shape != self.shape:
            raise ValueError('sum_to: cannot sum shape {} to {}'.format(x.shape, self.shape))
        return y,

    def backward(self, indexes, grad_outputs):
        return broadcast_to(grad_outputs[0], self._in_shape),


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` (NumPy's rules); the gradient sums back."""
    if isinstance(x, Variable) and x.shape == tuple(shape):
        return x
    return BroadcastTo(shape).apply((x,))[0]


def sum_to(x, shape):
    """Sum ``x`` over the axes that broadcasting to its shape from ``shape`` added."""
    if x.shape == tuple(shape):
        return as_variable(x)
    return SumTo(shape).apply((x,))[0]


def broadcast(*xs):
    """Broadcast several variables to one common shape."""
    xp = backend.get_array_module(*xs)
    shape = xp.broadcast_shapes(*[x.shape for x in xs]) if hasattr(xp, 'broadcast_shapes') \
        else xp.broadcast(*[x.data if isinstance(x, Variable) else x for x in xs]).shape
    return tuple(broadcast_to(x, shape) for x in xs)
