"""mean_absolute_error: the mean of the absolute differences of two arrays."""
import numpy

from dchain import backend
from dchain.function_node import FunctionNode
from dchain.functions.loss.mean_squared_error import check_pair
from dchain.utils import force_array


class MeanAbsoluteError(FunctionNode):
    label = 'mean_absolute_error'
    _retained_inputs = (0, 1)

    def check_type_forward(self, inputs):
        check_pair(self.label, *inputs)

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x0, x1 = inputs
        diff = force_array(x0 - x1)  # 0-dimensional inputs give a NumPy scalar
        total = xp.abs(diff, out=diff).sum(dtype=numpy.promote_types(diff.dtype, numpy.float32))
        return force_array(total * (1.0 / diff.size), x0.dtype),

    def backward(self, indexes, grad_outputs):
        x0, x1 = self.inputs
        gy, = grad_outputs
        xp = backend.get_array_module(x0.data)
        # The sign is piecewise constant: the gradient is linear in gy (0 where x0 == x1).
        gx0 = (gy * (1.0 / x0.size)) * xp.sign(x0.data - x1.data)
        return tuple([gx0 if i == 0 else -gx0 for i in indexes])


def mean_absolute_error(x0, x1):
    """Mean of ``|x0 - x1|`` over every element.

    Args:
        x0, x1: float Variables or arrays of one shape and dtype.
    Returns:
        A scalar Variable of their dtype.
    """
    return MeanAbsoluteError().apply((x0, x1))[0]
