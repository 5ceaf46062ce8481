"""huber_loss: squared error near the target, absolute error far from it."""
from dchain import backend
from dchain.function_node import FunctionNode
from dchain.functions.array.reshape import reshape

_REDUCE = ('sum_along_second_axis', 'no')


class HuberLoss(FunctionNode):
    label = 'huber_loss'
    _retained_inputs = (0, 1)

    def __init__(self, delta, reduce):
        self.delta = delta
        self.reduce = reduce

    def check_type_forward(self, inputs):
        x, t = inputs
        if x.dtype.kind != 'f' or x.dtype != t.dtype:
            raise TypeError('huber_loss: x and t must be float arrays of the same dtype, got {} '
                            'and {}'.format(x.dtype, t.dtype))
        if x.shape != t.shape:
            raise ValueError('huber_loss: x and t must have the same shape, got {} and {}'.format(
                x.shape, t.shape))
        if self.reduce == 'sum_along_second_axis' and x.ndim < 2:
            raise ValueError("huber_loss: reduce='sum_along_second_axis' needs x of 2 or more "
                             'dimensions, got shape {}'.format(x.shape))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, t = inputs
        delta = x.dtype.type(self.delta)
        distance = abs(x - t)
        # a^2 / 2 within delta, delta * (|a| - delta / 2) beyond it.
        linear = distance - delta * 0.5
        linear *= delta
        squared = xp.square(distance)
        squared *= 0.5
        y = xp.where(distance <= delta, squared, linear)
        if self.reduce == 'sum_along_second_axis':
            y = y.sum(axis=1)
        return y,

    def backward(self, indexes, grad_outputs):
        xp = backend.get_array_module(self.inputs[0].data)
        x, t = self.inputs
        gy, = grad_outputs
        if self.reduce == 'sum_along_second_axis':
            gy = reshape(gy, gy.shape[:1] + (1,) + gy.shape[1:])
        diff = x - t
        inside = abs(diff.data) <= self.delta
        # The gradient clip(x - t, -delta, delta), written so that it stays differentiable.
        outside = xp.where(inside, 0, xp.sign(diff.data) * self.delta).astype(x.dtype)
        gx = gy * (diff * inside.astype(x.dtype) + outside)
        return tuple([gx if i == 0 else -gx for i in indexes])


def huber_loss(x, t, delta, reduce='sum_along_second_axis'):
    """The Huber loss of ``a = x - t``: ``a^2 / 2`` where ``|a| <= delta``, else
    ``delta * (|a| - delta / 2)``.

    Args:
        x: float predictions, e.g. of shape (N, K).
        t: float targets of x's shape and dtype.
        delta (float): where the loss turns from quadratic to linear.
        reduce (str): 'sum_along_second_axis' sums over axis 1 (a result of shape (N,) for
            (N, K) inputs); 'no' keeps the elementwise losses.
    Returns:
        A Variable of x's dtype.
    """
    if reduce not in _REDUCE:
        raise ValueError("huber_loss: reduce must be 'sum_along_second_axis' or 'no', got {!r}"
                         .format(reduce))
    return HuberLoss(delta, reduce).apply((x, t))[0]
