"""sigmoid: the logistic function."""
from dchain import backend
from dchain.function_node import FunctionNode, check_dtype
from dchain.utils import force_array


class Sigmoid(FunctionNode):
    label = 'sigmoid'
    _retained_outputs = (0,)

    def check_type_forward(self, inputs):
        check_dtype('sigmoid', 'x', inputs[0], 'f', 'a float array')

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        # 1 / (1 + exp(-x)) overflows for large negative x; the tanh form never does.
        y = xp.tanh(x * 0.5)
        y *= 0.5
        y += 0.5
        return force_array(y, x.dtype),

    def backward(self, indexes, grad_outputs):
        y, = self.get_retained_outputs()
        return SigmoidGrad().apply((y, grad_outputs[0]))


class SigmoidGrad(FunctionNode):
    """``gx = gy * y * (1 - y)`` from the sigmoid's output ``y``."""

    label = 'sigmoid_grad'
    _retained_inputs = (0, 1)

    def forward(self, inputs):
        y, gy = inputs
        gx = 1 - y
        gx *= y
        gx *= gy
        return force_array(gx),

    def backward(self, indexes, grad_outputs):
        y, gy = self.inputs
        ggx, = grad_outputs
        result = []
        for i in indexes:
            if i == 0:
                result.append(ggx * gy * (1 - y * 2))
            else:
                result.append(SigmoidGrad().apply((y, ggx))[0])
        return tuple(result)


def sigmoid(x):
    """Elementwise logistic sigmoid ``1 / (1 + exp(-x))``.

    Args:
        x: a float Variable or array of any shape.
    Returns:
        A Variable of the same shape and dtype, with values in (0, 1).
    """
    return Sigmoid().apply((x,))[0]
