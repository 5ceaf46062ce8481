"""tanh: the hyperbolic tangent."""
from dchain import backend
from dchain.function_node import FunctionNode, check_dtype
from dchain.utils import force_array


class Tanh(FunctionNode):
    label = 'tanh'
    _retained_outputs = (0,)

    def check_type_forward(self, inputs):
        check_dtype('tanh', 'x', inputs[0], 'f', 'a float array')

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        return force_array(xp.tanh(inputs[0])),

    def backward(self, indexes, grad_outputs):
        y, = self.get_retained_outputs()
        return TanhGrad().apply((y, grad_outputs[0]))


class TanhGrad(FunctionNode):
    """``gx = gy * (1 - y ** 2)`` from the tanh's output ``y``."""

    label = 'tanh_grad'
    _retained_inputs = (0, 1)

    def forward(self, inputs):
        y, gy = inputs
        gx = y * y
        gx *= -1
        gx += 1
        gx *= gy
        return force_array(gx),

    def backward(self, indexes, grad_outputs):
        y, gy = self.inputs
        ggx, = grad_outputs
        result = []
        for i in indexes:
            if i == 0:
                result.append(ggx * gy * (y * -2))
            else:
                result.append(TanhGrad().apply((y, ggx))[0])
        return tuple(result)


def tanh(x):
    """Elementwise hyperbolic tangent.

    Args:
        x: a float Variable or array of any shape.
    Returns:
        A Variable of the same shape and dtype, with values in (-1, 1).
    """
    return Tanh().apply((x,))[0]
