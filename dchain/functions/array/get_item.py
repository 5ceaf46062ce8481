"""get_item: ``x[slices]`` with basic and advanced indexing."""
import numbers

from dchain import backend
from dchain.function_node import FunctionNode
from dchain.utils import force_array
from dchain.variable import Variable


def _normalize(slices, xp):
    if isinstance(slices, list):
        # A list index is advanced indexing, as in NumPy (on the device of x).
        slices = (xp.asarray(slices),) if not any(
            isinstance(s, (slice, list, tuple)) or s is None or s is Ellipsis
            for s in slices) else tuple(slices)
    if isinstance(slices, Variable):
        slices = slices.data
    return slices


def _is_basic(slices):
    """True when indexing makes a view (no integer or boolean arrays), so no index repeats."""
    items = slices if isinstance(slices, tuple) else (slices,)
    return all(s is None or s is Ellipsis or isinstance(s, (numbers.Integral, slice))
               for s in items)


class GetItem(FunctionNode):
    label = 'get_item'

    def __init__(self, slices):
        self.slices = slices

    def forward(self, inputs):
        x, = inputs
        self._in_shape = x.shape
        self._in_dtype = x.dtype
        try:
            return force_array(x[self.slices]),
        except IndexError as error:
            raise IndexError('get_item: index {!r} is out of range for shape {} ({})'.format(
                self.slices, x.shape, error)) from None

    def backward(self, indexes, grad_outputs):
        return GetItemGrad(self.slices, self._in_shape).apply(grad_outputs)


class GetItemGrad(FunctionNode):
    label = 'get_item_grad'

    def __init__(self, slices, in_shape):
        self.slices = slices
        self.in_shape = in_shape

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        gy, = inputs
        gx = xp.zeros(self.in_shape, gy.dtype)
        if _is_basic(self.slices):
            gx[self.slices] = gy
        else:
            # add.at accumulates repeated indices (advanced indexing may repeat); NumPy and CuPy
            # both have it.
            xp.add.at(gx, self.slices, gy)
        return gx,

    def backward(self, indexes, grad_outputs):
        return get_item(grad_outputs[0], self.slices),


def get_item(x, slices):
    """``x[slices]``: integers, slices, None, Ellipsis, integer or boolean arrays."""
    return GetItem(_normalize(slices, backend.get_array_module(x))).apply((x,))[0]
