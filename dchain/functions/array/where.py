"""where: choose elementwise between two variables."""
import numbers

from dchain import backend
from dchain.function_node import FunctionNode, check_same_dtype
from dchain.functions.array.broadcast import sum_to
from dchain.variable import Variable


class Where(FunctionNode):
    label = 'where'

    def __init__(self, condition):
        self.condition = condition

    def check_type_forward(self, inputs):
        check_same_dtype(self.label, inputs, ('x', 'y'))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, y = inputs
        self._shapes = (x.shape, y.shape)
        try:
            return xp.where(self.condition, x, y),
        except ValueError:
            raise ValueError('where: condition of shape {}, x of shape {} and y of shape {} '
                             'cannot be broadcast together'.format(
                                 self.condition.shape, x.shape, y.shape)) from None

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        xp = backend.get_array_module(gy)
        zero = xp.zeros((), gy.dtype)
        result = []
        for i in indexes:
            pair = (gy, zero) if i == 0 else (zero, gy)
            g = Where(self.condition).apply(pair)[0]
            shape = self._shapes[i]
            result.append(g if g.shape == shape else sum_to(g, shape))
        return tuple(result)


def _as_operand(value, other):
    """A Python scalar becomes a 0-dimensional array of the other operand's dtype."""
    if isinstance(value, numbers.Number) and not isinstance(other, numbers.Number):
        dtype = other.dtype
        if dtype.kind in 'iub' and not float(value).is_integer():
            raise TypeError('where: cannot combine the non-integer constant {} with a {} '
                            'variable'.format(value, dtype))
        return backend.get_array_module(other).asarray(value, dtype=dtype)
    return value


def where(condition, x, y):
    """Elementwise ``x`` where ``condition`` is True, ``y`` elsewhere (with broadcasting).

    Args:
        condition: a boolean array (or a Variable holding one); it gets no gradient.
        x, y: Variables or arrays of one dtype; one of them may be a Python scalar, which
            takes the other's dtype.
    Returns:
        A Variable of the broadcast shape. The gradient of x is the output gradient where
        condition holds (0 elsewhere), and of y the reverse.
    """
    if isinstance(condition, Variable):
        condition = condition.data
    if getattr(condition, 'dtype', None) is None or condition.dtype.kind != 'b':
        raise TypeError('where: condition must be a boolean array, got {}'.format(
            getattr(condition, 'dtype', type(condition).__name__)))
    x, y = _as_operand(x, y), _as_operand(y, x)
    return Where(condition).apply((x, y))[0]
