"""n_step_lstm and n_step_bilstm: stacked LSTMs over time steps, built on the fused cell."""
from dchain.functions.array.reshape import reshape
from dchain.functions.array.stack import stack
from dchain.functions.connection.linear import linear
from dchain.functions.rnn.lstm import lstm
from dchain.functions.rnn.n_step_rnn import n_step_loop, split_steps


def _interleave(parts):
    """Stack the gate blocks (a, i, f, o) so that ``lstm`` finds them interleaved."""
    w = stack(parts, axis=1)
    return reshape(w, (w.shape[0] * 4,) + w.shape[2:])


class LSTMCell:
    """The cell of the n-step LSTM; ``w[0..3]`` act on x and ``w[4..7]`` on h, each block in
    the order input gate, forget gate, cell input, output gate (cuDNN's, as in Chainer)."""

    n_weights = 8
    split = staticmethod(split_steps)

    def prepare(self, w, b):
        w_x = _interleave([w[2], w[0], w[1], w[3]])
        w_h = _interleave([w[6], w[4], w[5], w[7]])
        bias = _interleave([b[2] + b[6], b[0] + b[4], b[1] + b[5], b[3] + b[7]])
        return w_x, w_h, bias

    def project(self, params, x):
        return linear(x, params[0], params[2])

    def step(self, params, xw, h, c):
        c, h = lstm(c, xw + linear(h, params[1]))
        return h, c


def n_step_lstm(n_layers, dropout_ratio, hx, cx, ws, bs, xs):
    """Stacked uni-directional LSTM over time steps (Chainer's ``F.n_step_lstm``).

    Per layer: ``i = sigmoid(W0 x + b0 + W4 h + b4)``, ``f = sigmoid(W1 x + b1 + W5 h + b5)``,
    ``a = tanh(W2 x + b2 + W6 h + b6)``, ``o = sigmoid(W3 x + b3 + W7 h + b7)``,
    ``c_t = i a + f c_{t-1}``, ``h_t = o tanh(c_t)``. The input of every layer after the first
    goes through dropout.

    Args:
        n_layers (int): the number of layers S.
        dropout_ratio (float): dropout on the inputs of layers 2 .. S.
        hx, cx: initial hidden and cell states, each of shape (S, B, N).
        ws: ``ws[l]``, eight weights: W0..W3 of shape (N, I) for l = 0 (else (N, N)),
            W4..W7 of shape (N, N).
        bs: ``bs[l]``, eight biases of shape (N,).
        xs: the time steps, ``xs[t]`` of shape (B_t, I) with B_0 = B >= B_1 >= ... (sort the
            sequences by length and transpose them with ``transpose_sequence``).
    Returns:
        tuple ``(hy, cy, ys)``: last hidden and cell states (S, B, N) and the last layer's
        outputs, ``ys[t]`` of shape (B_t, N).
    """
    return n_step_loop('n_step_lstm', LSTMCell(), n_layers, dropout_ratio, hx, cx, ws, bs, xs,
                       False)


def n_step_bilstm(n_layers, dropout_ratio, hx, cx, ws, bs, xs):
    """Stacked bidirectional LSTM (Chainer's ``F.n_step_bilstm``).

    As :func:`n_step_lstm` with a forward and a backward direction per layer: ``hx`` and ``cx``
    have shape (2S, B, N), ``ws[2l]`` are layer l's forward weights and ``ws[2l + 1]`` its
    backward ones; layers after the first take the 2N-wide concatenation of both. Returns
    ``(hy, cy, ys)`` with ``ys[t]`` of shape (B_t, 2N).
    """
    return n_step_loop('n_step_bilstm', LSTMCell(), n_layers, dropout_ratio, hx, cx, ws, bs,
                       xs, True)
