"""CRF1d: a linear-chain conditional random field with learned transition costs."""
import numbers

import numpy

from dchain import initializers
from dchain.functions.array.permutate import permutate
from dchain.functions.array.transpose_sequence import transpose_sequence
from dchain.functions.loss.crf1d import argmax_crf1d, crf1d
from dchain.link import Link
from dchain.variable import Parameter, Variable


def _sorted_transposed(xs):
    indices = numpy.argsort([-len(x) for x in xs], kind='stable')
    return indices, transpose_sequence([xs[i] for i in indices])


class CRF1d(Link):
    """A linear-chain CRF layer (Chainer's ``L.CRF1d``); see
    :func:`dchain.functions.crf1d`.

    Args:
        n_label (int): the number of labels K.
        initial_cost: initializer of ``cost`` (zeros by default).
        transpose (bool): the default of ``transpose`` in ``forward`` and ``argmax``.
    Attributes:
        cost (Parameter): the transition costs, (K, K).

    With ``transpose=True`` the inputs are sequences, ``xs[i]`` of shape (L_i, K) and
    ``ys[i]`` of shape (L_i,), in any order; the link sorts and transposes them. Per-sequence
    results (``reduce='no'``, the scores and paths of ``argmax``) come back in the order of
    ``xs``. Otherwise the inputs are already time-major steps as :func:`crf1d` takes them.
    """

    def __init__(self, n_label, initial_cost=None, transpose=False):
        super().__init__()
        if isinstance(n_label, bool) or not isinstance(n_label, numbers.Integral) or \
                n_label < 1:
            raise ValueError('CRF1d: n_label must be a positive int, got {!r}'.format(n_label))
        self.transpose = transpose
        if initial_cost is None:
            initial_cost = initializers.Zero()
        with self.init_scope():
            self.cost = Parameter(initializers._get_initializer(initial_cost),
                                  (int(n_label), int(n_label)))

    def forward(self, xs, ys, reduce='mean', transpose=None):
        """The loss of the label sequences ``ys`` given unary scores ``xs`` (a scalar, or one
        per sequence with ``reduce='no'``)."""
        if not (self.transpose if transpose is None else transpose):
            return crf1d(self.cost, xs, ys, reduce)
        if len(xs) != len(ys):
            raise ValueError('CRF1d: xs and ys must hold the same number of sequences, got {} '
                             'and {}'.format(len(xs), len(ys)))
        indices, trans_x = _sorted_transposed(xs)
        trans_y = transpose_sequence([_data(ys[i]) for i in indices])
        loss = crf1d(self.cost, trans_x, [y.data for y in trans_y], reduce)
        return loss if reduce == 'mean' else permutate(loss, indices, inv=True)

    def argmax(self, xs, transpose=None):
        """The best label paths: ``(score, path)``; with ``transpose``, ``path[i]`` is an int32
        array (L_i,) for ``xs[i]``, else the time-major steps of :func:`argmax_crf1d`."""
        if not (self.transpose if transpose is None else transpose):
            return argmax_crf1d(self.cost, xs)
        indices, trans_x = _sorted_transposed(xs)
        score, path = argmax_crf1d(self.cost, trans_x)
        path = [p.data for p in transpose_sequence(path)]
        result = [None] * len(path)
        for position, i in enumerate(indices):
            result[i] = path[position]
        return permutate(score, indices, inv=True), result


def _data(y):
    return y.data if isinstance(y, Variable) else y
