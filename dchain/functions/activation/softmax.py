"""softmax over one axis."""
from dchain import backend
from dchain.function_node import FunctionNode, check_dtype
from dchain.functions.math.sum import sum as _sum


def check_axis_input(label, x, axis):
    """Refuse a non-float ``x`` or an ``axis`` outside its dimensions (shared by log_softmax)."""
    check_dtype(label, 'x', x, 'f', 'a float array')
    if not -x.ndim <= axis < x.ndim:
        raise ValueError('{}: axis {} is out of range for x of shape {}'.format(
            label, axis, x.shape))


class Softmax(FunctionNode):
    label = 'softmax'
    _retained_outputs = (0,)

    def __init__(self, axis):
        self.axis = axis

    def check_type_forward(self, inputs):
        check_axis_input('softmax', inputs[0], self.axis)

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        # Shifting by the maximum keeps exp from overflowing; the result is unchanged.
        y = x - x.max(axis=self.axis, keepdims=True)
        xp.exp(y, out=y)
        y /= y.sum(axis=self.axis, keepdims=True)
        return y,

    def backward(self, indexes, grad_outputs):
        y, = self.get_retained_outputs()
        return SoftmaxGrad(self.axis).apply((y, grad_outputs[0]))


class SoftmaxGrad(FunctionNode):
    """``gx = y * gy - y * sum(y * gy)`` from the softmax's output ``y``."""

    label = 'softmax_grad'
    _retained_inputs = (0, 1)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, inputs):
        y, gy = inputs
        gx = y * gy
        s = gx.sum(axis=self.axis, keepdims=True)
        gx -= y * s
        return gx,

    def backward(self, indexes, grad_outputs):
        y, gy = self.inputs
        ggx, = grad_outputs
        axis = self.axis
        result = []
        for i in indexes:
            if i == 0:
                s = _sum(y * gy, axis=axis, keepdims=True)
                t = _sum(ggx * y, axis=axis, keepdims=True)
                result.append(ggx * (gy - s) - gy * t)
            else:
                # gx is linear in gy with a symmetric Jacobian: the same map applies to ggx.
                result.append(SoftmaxGrad(axis).apply((y, ggx))[0])
        return tuple(result)


def softmax(x, axis=1):
    """Softmax along ``axis``: ``exp(x) / sum(exp(x), axis)``.

    Args:
        x: a float Variable or array with at least ``axis + 1`` dimensions.
        axis (int): the axis along which the outputs sum to 1.
    Returns:
        A Variable of the same shape and dtype.
    """
    return Softmax(axis).apply((x,))[0]
