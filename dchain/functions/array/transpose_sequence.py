"""transpose_sequence: batch-major sequences <-> time-major steps (its own inverse)."""
import numpy

from dchain import backend
from dchain.function_node import FunctionNode


def _lengths(label, shapes):
    lengths = [shape[0] if shape else None for shape in shapes]
    if None in lengths:
        raise ValueError('{}: every input must have at least one dimension, got shapes {}'
                         .format(label, shapes))
    if any(a < b for a, b in zip(lengths, lengths[1:])):
        raise ValueError('{}: xs must be sorted by length in descending order, got lengths {}'
                         .format(label, lengths))
    return lengths


class TransposeSequence(FunctionNode):
    label = 'transpose_sequence'

    def check_type_forward(self, inputs):
        first = inputs[0]
        for k, x in enumerate(inputs):
            if x.dtype != first.dtype or x.shape[1:] != first.shape[1:]:
                raise ValueError('transpose_sequence: every xs[i] must have the dtype and the '
                                 'trailing shape of xs[0] ({} {}), xs[{}] has {} {}'.format(
                                     first.dtype, first.shape[1:], k, x.dtype, x.shape[1:]))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        lengths = _lengths('transpose_sequence', [x.shape for x in inputs])
        self._shapes = [x.shape for x in inputs]
        if lengths[0] == 0:
            return ()
        # ys[t] stacks xs[i][t] for every i with lengths[i] > t: one gather from the
        # concatenated sequences, in time-major order, then views per step.
        starts = numpy.cumsum([0] + lengths[:-1])
        batch_sizes = [sum(1 for n in lengths if n > t) for t in range(lengths[0])]
        order = numpy.concatenate([starts[:b] + t for t, b in enumerate(batch_sizes)])
        packed = xp.concatenate(inputs, axis=0)[xp.asarray(order)]
        return tuple(xp.split(packed, numpy.cumsum(batch_sizes[:-1]).tolist()))

    def backward(self, indexes, grad_outputs):
        xp = backend.get_array_module(self.inputs[0].data)
        dtype = self.inputs[0].dtype
        gys = [gy if gy is not None else
               xp.zeros((sum(1 for shape in self._shapes if shape[0] > t),) +
                        self._shapes[0][1:], dtype)
               for t, gy in enumerate(grad_outputs)]
        gxs = TransposeSequence().apply(gys)
        # Inputs of length 0 get a zero gradient (they have no step).
        result = list(gxs) + [xp.zeros(shape, dtype) for shape in self._shapes[len(gxs):]]
        return tuple(result[i] for i in indexes)


def transpose_sequence(xs):
    """Transpose a list of sequences into a list of time steps (Chainer's
    ``F.transpose_sequence``); applied twice it gives the sequences back.

    Args:
        xs: a list or tuple of Variables or arrays, ``xs[i]`` of shape (L_i, ...), sorted by
            length in descending order (L_0 >= L_1 >= ...), all of one dtype and trailing
            shape.
    Returns:
        tuple of Variables: ``ys[t]`` of shape (B_t, ...) holds ``xs[i][t]`` for every ``i``
        with ``L_i > t`` (so B_0 >= B_1 >= ...). Empty when ``xs`` is empty or L_0 is 0.
    """
    if not isinstance(xs, (list, tuple)):
        raise TypeError('transpose_sequence: xs must be a list or tuple of arrays, got {}'
                        .format(type(xs).__name__))
    if len(xs) == 0:
        return ()
    return TransposeSequence().apply(xs)
