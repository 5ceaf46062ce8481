"""n_step_rnn and n_step_birnn, and the stacked, optionally bidirectional loop that the
n-step RNN, GRU and LSTM share.

The loop works on packed time-major data: the steps ``xs[t]`` (B_t rows, B_0 >= B_1 >= ...)
concatenated into one (sum B_t, I) array, so each layer multiplies its input weights once for
all steps and only the recurrent product runs step by step. A sequence that ends leaves the
active rows; in the backward direction a sequence joins at its last step, from its initial
state.
"""
import numpy

from dchain.functions.activation.relu import relu
from dchain.functions.activation.tanh import tanh
from dchain.functions.array.concat import concat, split_axis
from dchain.functions.array.stack import separate, stack
from dchain.functions.connection.linear import linear
from dchain.functions.noise.dropout import dropout


def _check(name, n_weights, n_layers, directions, hx, cx, ws, bs, xs):
    if isinstance(n_layers, bool) or not isinstance(n_layers, (int, numpy.integer)) or \
            n_layers < 1:
        raise ValueError('{}: n_layers must be a positive int, got {!r}'.format(name, n_layers))
    if not isinstance(xs, (list, tuple)) or not xs:
        raise ValueError('{}: xs must be a non-empty list of time steps (B_t, I), got {!r}'
                         .format(name, type(xs).__name__ if not isinstance(xs, (list, tuple))
                                 else xs))
    sizes = [x.shape[0] if x.ndim == 2 else None for x in xs]
    if None in sizes or any(a < b for a, b in zip(sizes, sizes[1:])) or sizes[-1] == 0:
        raise ValueError('{}: xs must be time steps of shape (B_t, I) with B_0 >= B_1 >= ... > 0 '
                         '(sort the sequences by length and transpose them with '
                         'transpose_sequence), got shapes {}'.format(
                             name, [tuple(x.shape) for x in xs]))
    n_cells = n_layers * directions
    for label, params in (('ws', ws), ('bs', bs)):
        if len(params) != n_cells or any(len(p) != n_weights for p in params):
            raise ValueError('{}: {} must hold {} lists (n_layers * directions) of {} arrays, got '
                             '{}'.format(name, label, n_cells, n_weights,
                                         [len(p) for p in params]))
    if ws[0][0].shape[1] != xs[0].shape[1]:
        raise ValueError('{}: the input size of ws[0][0] ({}) and of xs ({}) differ'.format(
            name, ws[0][0].shape[1], xs[0].shape[1]))
    out_size = ws[0][-1].shape[0]
    for label, state in (('hx', hx), ('cx', cx)):
        if state is not None and tuple(state.shape) != (n_cells, sizes[0], out_size):
            raise ValueError('{}: {} must have shape {} (n_layers * directions, B, N), got {}'
                             .format(name, label, (n_cells, sizes[0], out_size),
                                     tuple(state.shape)))


def _rows(v, start, stop):
    return v if start == 0 and stop == v.shape[0] else v[start:stop]


def _one_direction(cell, params, steps, batch_sizes, h0, c0, reverse):
    """Run one direction over ``steps``; returns (outputs in time order, h_last, c_last)."""
    batch = h0.shape[0]
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    first = batch_sizes[order[0]]
    h = _rows(h0, 0, first)
    c = None if c0 is None else _rows(c0, 0, first)
    finished = []
    outputs = [None] * len(steps)
    for t in order:
        b = batch_sizes[t]
        n = h.shape[0]
        if b < n:
            finished.append((h[b:], None if c is None else c[b:]))
            h, c = h[:b], (None if c is None else c[:b])
        elif b > n:
            # A sequence joins (backward direction) at its last step, from its initial state.
            h = concat([h, h0[n:b]], axis=0)
            c = None if c is None else concat([c, c0[n:b]], axis=0)
        h, c = cell.step(params, steps[t], h, c)
        outputs[t] = h
    hs, cs = [h], [c]
    for h_piece, c_piece in reversed(finished):
        hs.append(h_piece)
        cs.append(c_piece)
    done = sum(piece.shape[0] for piece in hs)
    if done < batch:
        hs.append(h0[done:])
        cs.append(None if c0 is None else c0[done:])
    h_last = hs[0] if len(hs) == 1 else concat(hs, axis=0)
    c_last = None if c0 is None else (cs[0] if len(cs) == 1 else concat(cs, axis=0))
    return outputs, h_last, c_last


def n_step_loop(name, cell, n_layers, dropout_ratio, hx, cx, ws, bs, xs, use_bi_direction):
    """The stacked loop shared by the n-step functions; returns ``(hy, cy, ys)``.

    ``cell`` has ``n_weights``, ``prepare(w, b)`` (the per-cell parameters, built once a
    call), ``project(params, x)`` (the input term of every step at once, for packed ``x``) and
    ``step(params, xw_t, h, c) -> (h, c)``. ``cx`` is None for cells without a cell state.
    """
    directions = 2 if use_bi_direction else 1
    _check(name, cell.n_weights, n_layers, directions, hx, cx, ws, bs, xs)
    batch_sizes = [x.shape[0] for x in xs]
    sections = numpy.cumsum(batch_sizes[:-1]).tolist()
    x = concat(xs, axis=0) if len(xs) > 1 else xs[0]
    hxs = separate(hx, axis=0)
    cxs = separate(cx, axis=0) if cx is not None else [None] * len(hxs)
    hy, cy = [], []
    for layer in range(n_layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            layer_in = x if layer == 0 else dropout(x, dropout_ratio)
            params = cell.prepare(ws[index], bs[index])
            steps = cell.split(cell.project(params, layer_in), sections)
            hs, h_last, c_last = _one_direction(cell, params, steps, batch_sizes, hxs[index],
                                                cxs[index], direction == 1)
            outputs.append(concat(hs, axis=0) if len(hs) > 1 else hs[0])
            hy.append(h_last)
            cy.append(c_last)
        x = outputs[0] if directions == 1 else concat(outputs, axis=1)
    ys = split_axis(x, sections, axis=0) if sections else (x,)
    return stack(hy), (stack(cy) if cx is not None else None), ys


def split_steps(xw, sections):
    """The packed projection ``xw`` as one Variable per time step."""
    return split_axis(xw, sections, axis=0) if sections else (xw,)


class RNNCell:
    """``h_t = activation(W0 x_t + b0 + W1 h_{t-1} + b1)``."""

    n_weights = 2
    split = staticmethod(split_steps)

    def __init__(self, activation):
        self.activation = activation

    def prepare(self, w, b):
        return w[0], w[1], b[0] + b[1]

    def project(self, params, x):
        return linear(x, params[0], params[2])

    def step(self, params, xw, h, c):
        y = xw + linear(h, params[1])
        return (tanh(y) if self.activation == 'tanh' else relu(y)), None


def _n_step_rnn(name, n_layers, dropout_ratio, hx, ws, bs, xs, activation, bi):
    if activation not in ('tanh', 'relu'):
        raise ValueError("{}: activation must be 'tanh' or 'relu', got {!r}".format(
            name, activation))
    hy, _, ys = n_step_loop(name, RNNCell(activation), n_layers, dropout_ratio, hx, None, ws,
                            bs, xs, bi)
    return hy, ys


def n_step_rnn(n_layers, dropout_ratio, hx, ws, bs, xs, activation='tanh'):
    """Stacked uni-directional Elman RNN over time steps (Chainer's ``F.n_step_rnn``).

    Each layer computes ``h_t = f(W0 x_t + b0 + W1 h_{t-1} + b1)`` with ``f`` tanh or relu;
    the input of every layer after the first goes through dropout.

    Args:
        n_layers (int): the number of layers S.
        dropout_ratio (float): dropout on the inputs of layers 2 .. S.
        hx: initial states, shape (S, B, N).
        ws: ``ws[l] = [W0, W1]``: W0 of shape (N, I) for l = 0, else (N, N); W1 (N, N).
        bs: ``bs[l] = [b0, b1]``, each of shape (N,).
        xs: the time steps, ``xs[t]`` of shape (B_t, I) with B_0 = B >= B_1 >= ... (sequences
            sorted by length, transposed by ``transpose_sequence``). Float, one dtype.
        activation (str): 'tanh' or 'relu'.
    Returns:
        tuple ``(hy, ys)``: the last states (S, B, N) and the outputs of the last layer,
        ``ys[t]`` of shape (B_t, N).
    """
    return _n_step_rnn('n_step_rnn', n_layers, dropout_ratio, hx, ws, bs, xs, activation,
                       False)


def n_step_birnn(n_layers, dropout_ratio, hx, ws, bs, xs, activation='tanh'):
    """Stacked bidirectional Elman RNN (Chainer's ``F.n_step_birnn``).

    As :func:`n_step_rnn`, with a forward and a backward direction per layer: ``hx`` has shape
    (2S, B, N), ``ws[2l]``/``bs[2l]`` are layer l's forward weights and ``ws[2l + 1]`` its
    backward ones; layers after the first take the 2N-wide concatenation of both directions.
    Returns ``(hy, ys)`` with ``hy`` of shape (2S, B, N) and ``ys[t]`` of shape (B_t, 2N).
    """
    return _n_step_rnn('n_step_birnn', n_layers, dropout_ratio, hx, ws, bs, xs, activation,
                       True)
