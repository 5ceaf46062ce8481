"""relu and leaky_relu: piecewise-linear activations."""
from dchain import backend
from dchain.function_node import FunctionNode, check_dtype
from dchain.utils import force_array


class ReLU(FunctionNode):
    label = 'relu'
    _retained_outputs = (0,)

    def check_type_forward(self, inputs):
        check_dtype('relu', 'x', inputs[0], 'f', 'a float array')

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        return force_array(xp.maximum(x, x.dtype.type(0))),

    def backward(self, indexes, grad_outputs):
        y, = self.get_retained_outputs()
        return ReLUGrad(y.data > 0).apply(grad_outputs)


class ReLUGrad(FunctionNode):
    """``gy * (y > 0)``; linear in gy, so its own backward is itself with the same mask."""

    label = 'relu_grad'

    def __init__(self, mask):
        self.mask = mask

    def forward(self, inputs):
        gy, = inputs
        return force_array(gy * self.mask),

    def backward(self, indexes, grad_outputs):
        return ReLUGrad(self.mask).apply(grad_outputs)


class LeakyReLU(FunctionNode):
    label = 'leaky_relu'

    def __init__(self, slope):
        self.slope = slope

    def check_type_forward(self, inputs):
        check_dtype('leaky_relu', 'x', inputs[0], 'f', 'a float array')

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        # The per-element factor (1 or slope) is the whole backward, so keep it. At exactly 0
        # the slope applies, as in Chainer (the forward is 0 either way).
        self.factor = xp.where(x > 0, x.dtype.type(1), x.dtype.type(self.slope))
        return force_array(x * self.factor),

    def backward(self, indexes, grad_outputs):
        return grad_outputs[0] * self.factor,


def relu(x):
    """Rectified linear unit, ``max(x, 0)``.

    Args:
        x: a float Variable or array of any shape.
    Returns:
        A Variable of the same shape and dtype. The gradient is 0 where ``x <= 0``.
    """
    return ReLU().apply((x,))[0]


def leaky_relu(x, slope=0.2):
    """Leaky rectified linear unit: ``x`` where ``x >= 0``, ``slope * x`` elsewhere.

    Args:
        x: a float Variable or array of any shape.
        slope (float): the slope for negative inputs.
    Returns:
        A Variable of the same shape and dtype. The gradient is ``slope`` where ``x <= 0``.
    """
    return LeakyReLU(slope).apply((x,))[0]
