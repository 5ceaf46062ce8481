"""elu: exponential linear unit."""
from dchain import backend
from dchain.function_node import FunctionNode, check_dtype
from dchain.functions.array.where import where
from dchain.functions.math.exponential import exp
from dchain.utils import force_array


class ELU(FunctionNode):
    label = 'elu'
    _retained_inputs = (0,)

    def __init__(self, alpha):
        self.alpha = alpha

    def check_type_forward(self, inputs):
        check_dtype('elu', 'x', inputs[0], 'f', 'a float array')

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        # expm1 of the clamped input: exact near 0 and no overflow for large positive x.
        negative = xp.expm1(xp.minimum(x, x.dtype.type(0)))
        negative *= x.dtype.type(self.alpha)
        return force_array(xp.where(x >= 0, x, negative)),

    def backward(self, indexes, grad_outputs):
        x, = self.inputs
        xp = x.xp
        # At exactly 0 the gradient is alpha (the negative branch), as in Chainer.
        positive = x.data > 0
        dtype = x.dtype
        zero = xp.zeros((), dtype)
        # Written with differentiable functions (exp of the negative part) for double backprop.
        slope = where(positive, xp.ones((), dtype), exp(where(positive, zero, x)) * self.alpha)
        return grad_outputs[0] * slope,


def elu(x, alpha=1.0):
    """Exponential linear unit: ``x`` where ``x >= 0``, ``alpha * (exp(x) - 1)`` elsewhere.

    Args:
        x: a float Variable or array of any shape.
        alpha (float): the scale of the negative part.
    Returns:
        A Variable of the same shape and dtype. The gradient is 1 where ``x > 0`` and
        ``alpha * exp(x)`` elsewhere (``alpha`` at 0).
    """
    return ELU(alpha).apply((x,))[0]
