"""permutate: reorder an axis by a permutation (or its inverse)."""
import numpy

from dchain import backend
from dchain.function_node import FunctionNode


class Permutate(FunctionNode):
    label = 'permutate'

    def __init__(self, indices, axis, inv):
        self.indices = indices
        self.axis = axis
        self.inv = inv

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        if not -x.ndim <= self.axis < x.ndim or x.shape[self.axis] != len(self.indices):
            raise ValueError('permutate: indices of length {} do not match axis {} of x of shape '
                             '{}'.format(len(self.indices), self.axis, x.shape))
        indices = self.indices
        if self.inv:
            indices = numpy.argsort(indices)
        return xp.take(x, xp.asarray(indices), axis=self.axis),

    def backward(self, indexes, grad_outputs):
        return Permutate(self.indices, self.axis, not self.inv).apply(grad_outputs)


def permutate(x, indices, axis=0, inv=False):
    """Reorder ``x`` along ``axis``: ``y = x.take(indices, axis)`` (Chainer's ``F.permutate``).

    Args:
        x: a Variable or array.
        indices: a permutation of ``0 .. x.shape[axis] - 1`` (a 1-D int array or list; a
            Variable's array is read).
        axis (int): the axis to reorder.
        inv (bool): apply the inverse permutation instead (``y.take(indices, axis) == x``).
    Returns:
        A Variable of the shape and dtype of ``x``.
    """
    if hasattr(indices, 'array'):
        indices = indices.array
    indices = numpy.asarray(backend.to_cpu(indices))
    if indices.ndim != 1 or indices.dtype.kind not in 'iu' or \
            not numpy.array_equal(numpy.sort(indices), numpy.arange(len(indices))):
        raise ValueError('permutate: indices must be a permutation of 0 .. n - 1, got {}'
                         .format(indices.tolist() if indices.size < 20 else indices))
    return Permutate(indices, axis, inv).apply((x,))[0]
