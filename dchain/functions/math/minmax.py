"""max and min over axes, maximum and minimum elementwise.

Gradients follow Chainer: ``max``/``min`` send the full output gradient to every element equal
to the result (ties each get all of it, not a share); ``maximum(x1, x2)`` sends it to ``x1``
where ``x1 >= x2`` and to ``x2`` elsewhere (``minimum``: ``x1 <= x2``), so ties go to ``x1``.
"""
from dchain import backend
from dchain.function_node import FunctionNode, check_dtype, check_same_dtype
from dchain.functions.array.broadcast import sum_to
from dchain.functions.array.reshape import reshape
from dchain.functions.math.sum import _keepdims_shape, _normalize_axis
from dchain.utils import force_array


class _Selector(FunctionNode):
    """max or min over ``axis``; the gradient flows to the elements equal to the result."""

    _retained_inputs = (0,)
    _retained_outputs = (0,)

    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = keepdims

    def check_type_forward(self, inputs):
        x, = inputs
        check_dtype(self.label, 'x', x, 'f', 'a float array')
        axes = range(x.ndim) if self.axis is None else self.axis
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError('{}: cannot reduce over an empty axis (x of shape {})'.format(
                self.label, x.shape))

    def forward(self, inputs):
        x, = inputs
        return force_array(self._select(x, axis=self.axis, keepdims=self.keepdims)),

    def backward(self, indexes, grad_outputs):
        x, = self.inputs
        y, = self.get_retained_outputs()
        gy, = grad_outputs
        shape = _keepdims_shape(x.shape, self.axis)
        y_data = y.data.reshape(shape)
        mask = (x.data == y_data).astype(x.dtype)
        if gy.shape != shape:
            gy = reshape(gy, shape)
        return gy * mask,


class Max(_Selector):
    label = 'max'

    def _select(self, x, **kwargs):
        return x.max(**kwargs)


class Min(_Selector):
    label = 'min'

    def _select(self, x, **kwargs):
        return x.min(**kwargs)


class _Elementwise(FunctionNode):
    """maximum or minimum of two arrays with broadcasting."""

    _retained_inputs = (0, 1)

    def check_type_forward(self, inputs):
        x1, x2 = inputs
        check_dtype(self.label, 'x1', x1, 'f', 'a float array')
        check_same_dtype(self.label, inputs, ('x1', 'x2'))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x1, x2 = inputs
        try:
            return force_array(self._select(xp, x1, x2)),
        except ValueError:
            raise ValueError('{}: x1 of shape {} and x2 of shape {} cannot be broadcast '
                             'together'.format(self.label, x1.shape, x2.shape)) from None

    def backward(self, indexes, grad_outputs):
        x1, x2 = self.inputs
        gy, = grad_outputs
        first = self._first(x1.data, x2.data)
        result = []
        for i in indexes:
            mask = (first if i == 0 else ~first).astype(gy.dtype)
            g = gy * mask
            shape = (x1 if i == 0 else x2).shape
            result.append(g if g.shape == shape else sum_to(g, shape))
        return tuple(result)


class Maximum(_Elementwise):
    label = 'maximum'

    def _select(self, xp, x1, x2):
        return xp.maximum(x1, x2)

    def _first(self, x1, x2):
        return x1 >= x2


class Minimum(_Elementwise):
    label = 'minimum'

    def _select(self, xp, x1, x2):
        return xp.minimum(x1, x2)

    def _first(self, x1, x2):
        return x1 <= x2


def max(x, axis=None, keepdims=False):  # noqa: A001  (F.max, as in Chainer)
    """Maximum of ``x`` over ``axis`` (an int, a tuple of ints, or None for all axes).

    Args:
        x: a float Variable or array.
        axis: the axes to reduce.
        keepdims (bool): keep the reduced axes with length 1.
    Returns:
        A Variable. Its gradient goes to every element equal to the maximum.
    """
    return Max(_normalize_axis('max', axis, x.ndim), keepdims).apply((x,))[0]


def min(x, axis=None, keepdims=False):  # noqa: A001  (F.min, as in Chainer)
    """Minimum of ``x`` over ``axis`` (an int, a tuple of ints, or None for all axes).

    Args:
        x: a float Variable or array.
        axis: the axes to reduce.
        keepdims (bool): keep the reduced axes with length 1.
    Returns:
        A Variable. Its gradient goes to every element equal to the minimum.
    """
    return Min(_normalize_axis('min', axis, x.ndim), keepdims).apply((x,))[0]


def maximum(x1, x2):
    """Elementwise maximum of two float arrays of one dtype, with broadcasting.

    Where ``x1 == x2`` the gradient goes to ``x1``.
    """
    return Maximum().apply((x1, x2))[0]


def minimum(x1, x2):
    """Elementwise minimum of two float arrays of one dtype, with broadcasting.

    Where ``x1 == x2`` the gradient goes to ``x1``.
    """
    return Minimum().apply((x1, x2))[0]
