"""n_step_gru and n_step_bigru: stacked gated recurrent units over time steps."""
from dchain.functions.activation.sigmoid import sigmoid
from dchain.functions.activation.tanh import tanh
from dchain.functions.array.concat import concat, split_axis
from dchain.functions.connection.linear import linear
from dchain.functions.rnn.n_step_rnn import n_step_loop, split_steps


class GRUCell:
    """``r = sigmoid(W0 x + b0 + W3 h + b3)``, ``z = sigmoid(W1 x + b1 + W4 h + b4)``,
    ``h' = tanh(W2 x + b2 + r (W5 h + b5))``, ``h_t = (1 - z) h' + z h_{t-1}``."""

    n_weights = 6
    split = staticmethod(split_steps)

    def prepare(self, w, b):
        return (concat(w[:3], axis=0), concat(w[3:], axis=0), concat(b[:3], axis=0),
                concat(b[3:], axis=0))

    def project(self, params, x):
        return linear(x, params[0], params[2])

    def step(self, params, xw, h, c):
        x_r, x_z, x_h = split_axis(xw, 3, axis=1)
        h_r, h_z, h_h = split_axis(linear(h, params[1], params[3]), 3, axis=1)
        r = sigmoid(x_r + h_r)
        z = sigmoid(x_z + h_z)
        h_bar = tanh(x_h + r * h_h)
        return h_bar + z * (h - h_bar), None


def n_step_gru(n_layers, dropout_ratio, hx, ws, bs, xs):
    """Stacked uni-directional GRU over time steps (Chainer's ``F.n_step_gru``).

    Per layer: ``r = sigmoid(W0 x + b0 + W3 h + b3)``, ``z = sigmoid(W1 x + b1 + W4 h + b4)``,
    ``h' = tanh(W2 x + b2 + r (W5 h + b5))``, ``h_t = (1 - z) h' + z h_{t-1}``. The input of
    every layer after the first goes through dropout.

    Args:
        n_layers (int): the number of layers S.
        dropout_ratio (float): dropout on the inputs of layers 2 .. S.
        hx: initial states, shape (S, B, N).
        ws: ``ws[l]``, six weights: W0..W2 of shape (N, I) for l = 0 (else (N, N)), W3..W5
            of shape (N, N).
        bs: ``bs[l]``, six biases of shape (N,).
        xs: the time steps, ``xs[t]`` of shape (B_t, I) with B_0 = B >= B_1 >= ....
    Returns:
        tuple ``(hy, ys)``: the last states (S, B, N) and the outputs, ``ys[t]`` (B_t, N).
    """
    hy, _, ys = n_step_loop('n_step_gru', GRUCell(), n_layers, dropout_ratio, hx, None, ws, bs,
                            xs, False)
    return hy, ys


def n_step_bigru(n_layers, dropout_ratio, hx, ws, bs, xs):
    """Stacked bidirectional GRU (Chainer's ``F.n_step_bigru``): as :func:`n_step_gru` with
    both directions per layer; ``hx`` of shape (2S, B, N), ``ws[2l]`` forward and
    ``ws[2l + 1]`` backward weights; ``ys[t]`` of shape (B_t, 2N)."""
    hy, _, ys = n_step_loop('n_step_bigru', GRUCell(), n_layers, dropout_ratio, hx, None, ws,
                            bs, xs, True)
    return hy, ys
