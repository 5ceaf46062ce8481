"""stack and separate: each the other's gradient."""
from dchain import backend
from dchain.function_node import FunctionNode


class Stack(FunctionNode):
    label = 'stack'

    def __init__(self, axis):
        self.axis = axis

    def check_type_forward(self, inputs):
        first = inputs[0]
        for i, x in enumerate(inputs[1:], 1):
            if x.dtype != first.dtype:
                raise TypeError('stack: every input must have the dtype of xs[0] ({}), xs[{}] '
                                'has {}'.format(first.dtype, i, x.dtype))
            if x.shape != first.shape:
                raise ValueError('stack: every input must have the shape of xs[0] {}, xs[{}] '
                                 'has {}'.format(first.shape, i, x.shape))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        return xp.stack(inputs, axis=self.axis),

    def backward(self, indexes, grad_outputs):
        return separate(grad_outputs[0], self.axis)


class Separate(FunctionNode):
    label = 'separate'

    def __init__(self, axis):
        self.axis = axis

    def forward(self, inputs):
        x, = inputs
        self._shape = x.shape[:self.axis] + x.shape[self.axis + 1:]
        self._dtype = x.dtype
        # Views, one per index along axis: the number of outputs is the length of the axis.
        lead = (slice(None),) * self.axis
        return tuple([x[lead + (i,)] for i in range(x.shape[self.axis])])

    def backward(self, indexes, grad_outputs):
        xp = self.inputs[0].xp
        gys = [xp.zeros(self._shape, self._dtype) if gy is None else gy for gy in grad_outputs]
        return stack(gys, self.axis),


def stack(xs, axis=0):
    """Join variables of one shape along a new axis.

    Args:
        xs (list or tuple): Variables or arrays of one shape and dtype.
        axis (int): where the new axis goes, in ``[-ndim - 1, ndim]``.
    Returns:
        A Variable with one more dimension than the inputs.
    """
    if not isinstance(xs, (list, tuple)):
        raise TypeError('stack: xs must be a list or tuple of variables, got {}'.format(
            type(xs).__name__))
    if not xs:
        raise ValueError('stack: xs must hold at least one variable, got none')
    ndim = xs[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError('stack: axis {} is out of range for stacking {}-dimensional inputs'
                         .format(axis, ndim - 1))
    return Stack(axis % ndim).apply(xs)[0]


def separate(x, axis=0):
    """Split ``x`` into the slices along ``axis``, with that axis removed.

    Args:
        x: a Variable or array with at least one dimension.
        axis (int): the axis to separate along.
    Returns:
        A tuple of ``x.shape[axis]`` Variables.
    """
    if not -x.ndim <= axis < x.ndim:
        raise ValueError('separate: axis {} is out of range for x of shape {}'.format(
            axis, x.shape))
    return Separate(axis % x.ndim).apply((x,))
