"""concat and split_axis: each the other's gradient."""
import numbers

from dchain import backend
from dchain.function_node import FunctionNode


def _check_axis(label, axis, ndim):
    if not -ndim <= axis < ndim:
        raise ValueError('{}: axis {} is out of range for {} dimensions'.format(label, axis, ndim))
    return axis % ndim


class Concat(FunctionNode):
    label = 'concat'

    def __init__(self, axis):
        self.axis = axis

    def check_type_forward(self, inputs):
        first = inputs[0]
        axis = _check_axis('concat', self.axis, first.ndim)
        for i, x in enumerate(inputs[1:], 1):
            if x.dtype != first.dtype:
                raise TypeError('concat: every input must have the dtype of xs[0] ({}), xs[{}] '
                                'has {}'.format(first.dtype, i, x.dtype))
            if x.ndim != first.ndim or x.shape[:axis] != first.shape[:axis] or \
                    x.shape[axis + 1:] != first.shape[axis + 1:]:
                raise ValueError('concat: shapes must agree except on axis {}, got xs[0] of '
                                 'shape {} and xs[{}] of shape {}'.format(
                                     self.axis, first.shape, i, x.shape))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        axis = self.axis
        self._sizes = [x.shape[axis] for x in inputs]
        return xp.concatenate(inputs, axis=axis),

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        if len(self._sizes) == 1:
            return gy,
        indices = []
        position = 0
        for size in self._sizes[:-1]:
            position += size
            indices.append(position)
        return split_axis(gy, indices, self.axis)


class SplitAxis(FunctionNode):
    label = 'split_axis'

    def __init__(self, indices_or_sections, axis):
        self.indices_or_sections = indices_or_sections
        self.axis = axis

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        self._dtype = x.dtype
        ys = xp.split(x, self.indices_or_sections, self.axis)
        self._shapes = [y.shape for y in ys]
        return tuple(ys)

    def backward(self, indexes, grad_outputs):
        if len(grad_outputs) == 1:
            return grad_outputs
        xp = self.inputs[0].xp
        # An output that got no gradient contributes zeros.
        gys = [xp.zeros(shape, self._dtype) if gy is None else gy
               for gy, shape in zip(grad_outputs, self._shapes)]
        return concat(gys, self.axis),


def concat(xs, axis=1):
    """Concatenate the variables ``xs`` along ``axis``.

    Args:
        xs (list or tuple): Variables or arrays of one dtype whose shapes agree except on
            ``axis``.
        axis (int): the axis to join along.
    Returns:
        A Variable; its gradient is split back to the inputs.
    """
    if not isinstance(xs, (list, tuple)):
        raise TypeError('concat: xs must be a list or tuple of variables, got {}'.format(
            type(xs).__name__))
    if not xs:
        raise ValueError('concat: xs must hold at least one variable, got none')
    return Concat(axis).apply(xs)[0]


def split_axis(x, indices_or_sections, axis, force_tuple=True):
    """Split ``x`` along ``axis``.

    Args:
        x: a Variable or array.
        indices_or_sections (int or sequence of ints): a number of equal sections that must
            divide ``x.shape[axis]``, or the sorted positions at which to split (each in
            ``[0, x.shape[axis]]``; a 1-D integer array works too).
        axis (int): the axis to split.
        force_tuple (bool): return a tuple even for a single piece; when False a single piece
            is returned as a Variable.
    Returns:
        A tuple of Variables (or one Variable, see ``force_tuple``).
    """
    axis = _check_axis('split_axis', axis, x.ndim)
    length = x.shape[axis]
    if isinstance(indices_or_sections, numbers.Integral) and not isinstance(
            indices_or_sections, bool):
        sections = int(indices_or_sections)
        if sections <= 0 or length % sections:
            raise ValueError('split_axis: {} sections must evenly divide axis {} of length {}'
                             .format(sections, axis, length))
        ios = sections
    else:
        try:
            ios = [int(i) for i in backend.to_cpu(indices_or_sections)]
        except TypeError:
            raise TypeError('split_axis: indices_or_sections must be an int or a sequence of '
                            'ints, got {}'.format(type(indices_or_sections).__name__)) from None
        previous = 0
        for i in ios:
            if not previous <= i <= length:
                raise ValueError('split_axis: indices must be sorted and within [0, {}], got {}'
                                 .format(length, list(ios)))
            previous = i
    ys = SplitAxis(ios, axis).apply((x,))
    if len(ys) == 1 and not force_tuple:
        return ys[0]
    return ys
