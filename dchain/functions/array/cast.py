"""cast: change the dtype."""
import numpy

from dchain.function_node import FunctionNode
from dchain.variable import as_variable


class Cast(FunctionNode):
    label = 'cast'

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, inputs):
        x, = inputs
        self._in_dtype = x.dtype
        return x.astype(self.dtype),

    def backward(self, indexes, grad_outputs):
        # Only a float-to-float cast is differentiable; integers carry no gradient.
        if self._in_dtype.kind != 'f' or self.dtype.kind != 'f':
            return None,
        return cast(grad_outputs[0], self._in_dtype),


def cast(x, typ):
    """Cast ``x`` to the dtype ``typ``.

    Args:
        x: a Variable or array.
        typ: a dtype or anything ``numpy.dtype`` accepts ('float32', numpy.float16, ...).
    Returns:
        A Variable of dtype ``typ``; ``x`` itself (as a Variable) when it already has it.
        Between float dtypes the gradient is cast back to the dtype of x.
    """
    try:
        dtype = numpy.dtype(typ)
    except TypeError:
        raise TypeError('cast: typ must be a dtype, got {!r}'.format(typ)) from None
    if x.dtype == dtype:
        return as_variable(x)
    return Cast(dtype).apply((x,))[0]
