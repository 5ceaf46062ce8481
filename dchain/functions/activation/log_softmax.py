"""log_softmax over one axis."""
from dchain import backend
from dchain.function_node import FunctionNode
from dchain.functions.activation.softmax import check_axis_input
from dchain.functions.math.exponential import exp
from dchain.functions.math.sum import sum as _sum


def _log_softmax(x, axis, xp):
    """The forward on arrays, ``x - logsumexp(x, axis)``, computed stably."""
    y = x - x.max(axis=axis, keepdims=True)
    total = xp.exp(y).sum(axis=axis, keepdims=True)
    y -= xp.log(total, out=total)
    return y


class LogSoftmax(FunctionNode):
    label = 'log_softmax'
    _retained_outputs = (0,)

    def __init__(self, axis):
        self.axis = axis

    def check_type_forward(self, inputs):
        check_axis_input('log_softmax', inputs[0], self.axis)

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        return _log_softmax(inputs[0], self.axis, xp),

    def backward(self, indexes, grad_outputs):
        y, = self.get_retained_outputs()
        return LogSoftmaxGrad(self.axis).apply((y, grad_outputs[0]))


class LogSoftmaxGrad(FunctionNode):
    """``gx = gy - exp(y) * sum(gy)`` from the log_softmax's output ``y``."""

    label = 'log_softmax_grad'
    _retained_inputs = (0, 1)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        y, gy = inputs
        gx = xp.exp(y)
        gx *= gy.sum(axis=self.axis, keepdims=True)
        xp.subtract(gy, gx, out=gx)
        return gx,

    def backward(self, indexes, grad_outputs):
        y, gy = self.inputs
        ggx, = grad_outputs
        axis = self.axis
        softmax = exp(y)
        result = []
        for i in indexes:
            if i == 0:
                result.append(-ggx * softmax * _sum(gy, axis=axis, keepdims=True))
            else:
                result.append(ggx - _sum(ggx * softmax, axis=axis, keepdims=True))
        return tuple(result)


def log_softmax(x, axis=1):
    """Logarithm of the softmax along ``axis``, computed without forming the softmax.

    Args:
        x: a float Variable or array with at least ``axis + 1`` dimensions.
        axis (int): the axis of the normalization.
    Returns:
        A Variable of the same shape and dtype.
    """
    return LogSoftmax(axis).apply((x,))[0]
