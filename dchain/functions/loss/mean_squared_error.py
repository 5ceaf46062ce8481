"""mean_squared_error: the mean of the squared differences of two arrays."""
import numpy

from dchain.function_node import FunctionNode
from dchain.utils import force_array


def check_pair(label, x0, x1):
    """Refuse two arrays unless they are float arrays of one shape and one dtype."""
    if x0.dtype.kind != 'f' or x0.dtype != x1.dtype:
        raise TypeError('{}: x0 and x1 must be float arrays of the same dtype, got {} and {}'
                        .format(label, x0.dtype, x1.dtype))
    if x0.shape != x1.shape:
        raise ValueError('{}: x0 and x1 must have the same shape, got {} and {}'.format(
            label, x0.shape, x1.shape))


class MeanSquaredError(FunctionNode):
    label = 'mean_squared_error'
    _retained_inputs = (0, 1)

    def check_type_forward(self, inputs):
        check_pair(self.label, *inputs)

    def forward(self, inputs):
        x0, x1 = inputs
        diff = (x0 - x1).reshape(-1)
        if diff.dtype == numpy.float16:  # a float16 sum of squares overflows easily
            diff = diff.astype(numpy.float32)
        return force_array(diff.dot(diff) * (1.0 / diff.size), x0.dtype),

    def backward(self, indexes, grad_outputs):
        x0, x1 = self.inputs
        gy, = grad_outputs
        # Built from differentiable functions, so double backprop works.
        gx0 = (x0 - x1) * (gy * (2.0 / x0.size))
        return tuple([gx0 if i == 0 else -gx0 for i in indexes])


def mean_squared_error(x0, x1):
    """Mean of ``(x0 - x1) ** 2`` over every element.

    Args:
        x0, x1: float Variables or arrays of one shape and dtype.
    Returns:
        A scalar Variable of their dtype.
    """
    return MeanSquaredError().apply((x0, x1))[0]
