"""clip: limit values to an interval."""
from dchain import backend
from dchain.function_node import FunctionNode, check_dtype
from dchain.utils import force_array


class Clip(FunctionNode):
    label = 'clip'
    _retained_inputs = (0,)

    def __init__(self, x_min, x_max):
        self.x_min = x_min
        self.x_max = x_max

    def check_type_forward(self, inputs):
        check_dtype('clip', 'x', inputs[0], 'f', 'a float array')

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        dtype = x.dtype.type
        # Bounds become x's dtype so a float64 bound never promotes a float32 x.
        low = None if self.x_min is None else dtype(self.x_min)
        high = None if self.x_max is None else dtype(self.x_max)
        if low is None:
            y = xp.minimum(x, high)
        elif high is None:
            y = xp.maximum(x, low)
        else:
            y = xp.clip(x, low, high)
        return force_array(y),

    def backward(self, indexes, grad_outputs):
        x = self.inputs[0].data
        dtype = x.dtype.type
        # The gradient passes where x is inside [x_min, x_max], the edges included (Chainer).
        if self.x_min is None:
            inside = x <= dtype(self.x_max)
        elif self.x_max is None:
            inside = x >= dtype(self.x_min)
        else:
            inside = (x >= dtype(self.x_min)) & (x <= dtype(self.x_max))
        return grad_outputs[0] * inside.astype(x.dtype),


def clip(x, x_min, x_max):
    """Clip ``x`` to ``[x_min, x_max]`` elementwise.

    Args:
        x: a float Variable or array.
        x_min (float or None): the lower bound (None: no lower bound).
        x_max (float or None): the upper bound (None: no upper bound).
    Returns:
        A Variable of the same shape and dtype. The gradient is 1 inside the interval and at
        its edges, 0 outside.
    """
    if x_min is None and x_max is None:
        raise ValueError('clip: x_min and x_max cannot both be None')
    if x_min is not None and x_max is not None and not x_min < x_max:
        raise ValueError('clip: x_min must be less than x_max, got x_min={} and x_max={}'.format(
            x_min, x_max))
    return Clip(x_min, x_max).apply((x,))[0]
