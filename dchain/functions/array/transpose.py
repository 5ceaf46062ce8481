"""transpose and swapaxes."""
import numpy

from dchain.function_node import FunctionNode


class Transpose(FunctionNode):

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, inputs):
        x, = inputs
        axes = self.axes
        if axes is not None and (
                len(axes) != x.ndim or any(not -x.ndim <= a < x.ndim for a in axes) or
                sorted(a % x.ndim for a in axes) != list(range(x.ndim))):
            raise ValueError('transpose: axes must be a permutation of the {} axes, got {}'.format(
                x.ndim, axes))
        return x.transpose(axes),

    def backward(self, indexes, grad_outputs):
        if self.axes is None:
            return transpose(grad_outputs[0]),
        inverse = tuple(numpy.argsort([a % len(self.axes) for a in self.axes]))
        return transpose(grad_outputs[0], inverse),


def transpose(x, axes=None):
    """Permute the axes of ``x`` (reverse them when ``axes`` is None)."""
    return Transpose(None if axes is None else tuple(axes)).apply((x,))[0]


def swapaxes(x, axis1, axis2):
    """Swap two axes of ``x``."""
    ndim = x.ndim
    for axis in (axis1, axis2):
        if not -ndim <= axis < ndim:
            raise ValueError('swapaxes: axis {} is out of range for {} dimensions'.format(
                axis, ndim))
    axes = list(range(ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)
