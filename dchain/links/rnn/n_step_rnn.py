"""The n-step RNN links: NStepLSTM, NStepGRU, NStepRNNTanh/ReLU and their bidirectional
versions, over lists of variable-length sequences."""
import numbers

import numpy

from dchain import initializers
from dchain.functions.array.permutate import permutate
from dchain.functions.array.transpose_sequence import transpose_sequence
from dchain.functions.rnn import n_step_gru, n_step_lstm, n_step_rnn
from dchain.link import ChainList, Link
from dchain.variable import Parameter, Variable


class NStepRNNBase(ChainList):
    """The base of the n-step links: one child link per layer and direction, holding the
    weights ``w0 .. w{n-1}`` and biases ``b0 .. b{n-1}`` (Chainer's layout, so saved models
    load either way).

    Args:
        n_layers (int): the number of layers.
        in_size (int): the size of the input vectors.
        out_size (int): the size of the hidden states (per direction).
        dropout (float): the dropout ratio on the inputs of every layer after the first.
        initialW: initializer of the weights (LeCunNormal by default).
        initial_bias: initializer of the biases (0 by default).

    ``forward`` takes a list of sequences ``xs[i]`` of shape (L_i, in_size) in any order and
    returns the last layer's outputs ``ys[i]`` of shape (L_i, out_size * directions) in the
    same order, with the final states (n_layers * directions, B, out_size).
    """

    n_weights = None
    use_bi_direction = False

    def __init__(self, n_layers, in_size, out_size, dropout, *, initialW=None,
                 initial_bias=None):
        name = type(self).__name__
        for label, size in (('n_layers', n_layers), ('in_size', in_size),
                            ('out_size', out_size)):
            if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
                raise ValueError('{}: {} must be a positive int, got {!r}'.format(
                    name, label, size))
        if not 0 <= dropout < 1:
            raise ValueError('{}: dropout must be in [0, 1), got {!r}'.format(name, dropout))
        direction = 2 if self.use_bi_direction else 1
        w_init = initializers._get_initializer(initialW)
        b_init = initializers._get_initializer(0 if initial_bias is None else initial_bias)
        cells = []
        for layer in range(int(n_layers)):
            for _ in range(direction):
                cell = Link()
                with cell.init_scope():
                    for j in range(self.n_weights):
                        if j < self.n_weights // 2:
                            w_in = int(in_size) if layer == 0 else int(out_size) * direction
                        else:
                            w_in = int(out_size)
                        setattr(cell, 'w%d' % j, Parameter(w_init, (int(out_size), w_in)))
                        setattr(cell, 'b%d' % j, Parameter(b_init, (int(out_size),)))
                cells.append(cell)
        super().__init__(*cells)
        self.n_layers = int(n_layers)
        self.dropout = dropout
        self.out_size = int(out_size)
        self.direction = direction

    @property
    def ws(self):
        """The weights: ``ws[cell][j]`` is cell's ``w{j}``."""
        return [[getattr(cell, 'w%d' % j) for j in range(self.n_weights)] for cell in self]

    @property
    def bs(self):
        """The biases: ``bs[cell][j]`` is cell's ``b{j}``."""
        return [[getattr(cell, 'b%d' % j) for j in range(self.n_weights)] for cell in self]

    @property
    def n_cells(self):
        """The number of state arrays (2 for the LSTM: h and c; else 1)."""
        return 1

    def init_hx(self, xs):
        """Zero initial states, (n_layers * directions, len(xs), out_size), xs' dtype."""
        shape = (self.n_layers * self.direction, len(xs), self.out_size)
        return Variable(self.xp.zeros(shape, dtype=xs[0].dtype))

    def rnn(self, *args):
        """Call the n-step function on sorted, transposed inputs."""
        raise NotImplementedError('{} does not implement rnn'.format(type(self).__name__))

    def _call(self, hs, xs):
        name = type(self).__name__
        if not isinstance(xs, (list, tuple)) or not xs:
            raise ValueError('{}: xs must be a non-empty list of sequences (L_i, in_size), got '
                             '{!r}'.format(name, xs if isinstance(xs, (list, tuple))
                                           else type(xs).__name__))
        lengths = [len(x) for x in xs]
        if min(lengths) == 0:
            raise ValueError('{}: every sequence needs at least one step, got lengths {}'
                             .format(name, lengths))
        indices = numpy.argsort([-n for n in lengths], kind='stable')
        sorted_xs = [xs[i] for i in indices]
        states = []
        for h in hs:
            if h is None:
                h = self.init_hx(sorted_xs)
            else:
                h = permutate(h, indices, axis=1)
            states.append(h)
        result = self.rnn(self.n_layers, self.dropout, *states, self.ws, self.bs,
                          transpose_sequence(sorted_xs))
        final = [permutate(h, indices, axis=1, inv=True) for h in result[:-1]]
        ys = transpose_sequence(result[-1])
        unsorted = [None] * len(ys)
        for position, i in enumerate(indices):
            unsorted[i] = ys[position]
        return final, unsorted

    def forward(self, hx, xs):
        """``forward(hx, xs) -> (hy, ys)``: ``hx`` the initial states (n_layers * directions,
        B, out_size) or None (zeros); ``xs`` a list of B sequences (L_i, in_size)."""
        (hy,), ys = self._call([hx], xs)
        return hy, ys


class NStepRNNTanh(NStepRNNBase):
    """Stacked Elman RNN with tanh over sequences (Chainer's ``L.NStepRNNTanh``); see
    :class:`NStepRNNBase` and :func:`dchain.functions.n_step_rnn`."""

    n_weights = 2

    def rnn(self, *args):
        return n_step_rnn.n_step_rnn(*args, activation='tanh')


class NStepRNNReLU(NStepRNNBase):
    """Stacked Elman RNN with relu (Chainer's ``L.NStepRNNReLU``)."""

    n_weights = 2

    def rnn(self, *args):
        return n_step_rnn.n_step_rnn(*args, activation='relu')


class NStepBiRNNTanh(NStepRNNBase):
    """Stacked bidirectional Elman RNN with tanh (Chainer's ``L.NStepBiRNNTanh``); outputs are
    (L_i, 2 out_size)."""

    n_weights = 2
    use_bi_direction = True

    def rnn(self, *args):
        return n_step_rnn.n_step_birnn(*args, activation='tanh')


class NStepBiRNNReLU(NStepRNNBase):
    """Stacked bidirectional Elman RNN with relu (Chainer's ``L.NStepBiRNNReLU``)."""

    n_weights = 2
    use_bi_direction = True

    def rnn(self, *args):
        return n_step_rnn.n_step_birnn(*args, activation='relu')


class NStepGRU(NStepRNNBase):
    """Stacked GRU over sequences (Chainer's ``L.NStepGRU``); see
    :func:`dchain.functions.n_step_gru`."""

    n_weights = 6

    def rnn(self, *args):
        return n_step_gru.n_step_gru(*args)


class NStepBiGRU(NStepRNNBase):
    """Stacked bidirectional GRU (Chainer's ``L.NStepBiGRU``)."""

    n_weights = 6
    use_bi_direction = True

    def rnn(self, *args):
        return n_step_gru.n_step_bigru(*args)


class NStepLSTM(NStepRNNBase):
    """Stacked LSTM over sequences (Chainer's ``L.NStepLSTM``); see
    :func:`dchain.functions.n_step_lstm`.

    ``forward(hx, cx, xs) -> (hy, cy, ys)``: ``hx``, ``cx`` the initial hidden and cell states
    (n_layers, B, out_size) or None (zeros); ``xs`` a list of B sequences (L_i, in_size) in
    any order; ``ys[i]`` of shape (L_i, out_size), in the order of ``xs``.
    """

    n_weights = 8

    @property
    def n_cells(self):
        return 2

    def rnn(self, *args):
        return n_step_lstm.n_step_lstm(*args)

    def forward(self, hx, cx, xs):
        (hy, cy), ys = self._call([hx, cx], xs)
        return hy, cy, ys


class NStepBiLSTM(NStepLSTM):
    """Stacked bidirectional LSTM (Chainer's ``L.NStepBiLSTM``): states of shape
    (2 n_layers, B, out_size), outputs (L_i, 2 out_size)."""

    use_bi_direction = True

    def rnn(self, *args):
        return n_step_lstm.n_step_bilstm(*args)
