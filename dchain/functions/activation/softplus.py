"""softplus: a smooth relu."""
from dchain import backend
from dchain.function_node import FunctionNode, check_dtype
from dchain.functions.activation.sigmoid import sigmoid


class Softplus(FunctionNode):
    label = 'softplus'
    _retained_inputs = (0,)

    def __init__(self, beta):
        self.beta = beta

    def check_type_forward(self, inputs):
        check_dtype('softplus', 'x', inputs[0], 'f', 'a float array')

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        dtype = x.dtype.type
        # A 1-D view keeps NumPy from turning 0-dimensional results into scalars.
        bx = x.reshape(-1) * dtype(self.beta)
        # log(1 + exp(bx)) = max(bx, 0) + log1p(exp(-|bx|)): no overflow for large |bx|.
        y = xp.exp(-abs(bx))
        xp.log1p(y, out=y)
        y += xp.maximum(bx, dtype(0))
        y *= dtype(1.0 / self.beta)
        return y.reshape(x.shape),

    def backward(self, indexes, grad_outputs):
        x, = self.inputs
        return grad_outputs[0] * sigmoid(x * self.beta),


def softplus(x, beta=1.0):
    """Softplus, ``log(1 + exp(beta * x)) / beta``.

    Args:
        x: a float Variable or array of any shape.
        beta (float): the sharpness; as it grows softplus approaches relu.
    Returns:
        A Variable of the same shape and dtype.
    """
    if beta == 0:
        raise ValueError('softplus: beta must be nonzero, got 0')
    return Softplus(beta).apply((x,))[0]
