"""lstm: one step of a long short-term memory cell, fused into one node.

The gates of ``x`` are interleaved as Chainer lays them out: ``x.reshape(B, H, 4, ...)`` holds
(a, i, f, o) on its third axis. A sequence model calls this once per time step, so forward and
backward are each a single node (a composition would cost about twenty nodes a step).
"""
from dchain import backend
from dchain.function_node import FunctionNode
from dchain.functions.activation.sigmoid import sigmoid
from dchain.functions.activation.tanh import tanh
from dchain.functions.array.concat import concat
from dchain.functions.array.reshape import reshape
from dchain.functions.array.stack import separate, stack
from dchain.variable import Variable


def _gates(x):
    """a, i, f, o views of ``x`` (B, 4H, ...) as (B, H, ...) arrays or Variables."""
    shape = (x.shape[0], x.shape[1] // 4, 4) + x.shape[2:]
    if not isinstance(x, Variable):
        r = x.reshape(shape)
        return [r[:, :, k] for k in range(4)]
    return separate(reshape(x, shape), axis=2)


def _activate(xp, x):
    """The activated gates as contiguous planes (4, B, H, ...): tanh(a), sigmoid(i, f, o)."""
    r = x.reshape((x.shape[0], x.shape[1] // 4, 4) + x.shape[2:])
    # One copy out of the interleaved layout; every later operation then runs on contiguous
    # planes (NumPy is several times slower on stride-4 views).
    g = xp.ascontiguousarray(xp.moveaxis(r, 2, 0))
    g *= 0.5
    # sigmoid(v) = 0.5 tanh(v / 2) + 0.5, which never overflows; tanh(a) comes from
    # tanh(a / 2) by the double-angle formula, so one tanh covers every gate.
    xp.tanh(g, out=g)
    half = g[0]
    a = 2 * half / (1 + half * half)
    g *= 0.5
    g += 0.5
    g[0] = a
    return g


class LSTM(FunctionNode):
    label = 'lstm'

    def check_type_forward(self, inputs):
        c_prev, x = inputs
        if c_prev.dtype.kind != 'f' or c_prev.dtype != x.dtype:
            raise TypeError('lstm: c_prev and x must be float arrays of one dtype, got {} and {}'
                            .format(c_prev.dtype, x.dtype))
        if x.ndim < 2 or x.shape[1] % 4:
            raise ValueError('lstm: x must have shape (B, 4 * H, ...), got {}'.format(x.shape))
        if c_prev.ndim != x.ndim or c_prev.shape[1] != x.shape[1] // 4 or \
                c_prev.shape[2:] != x.shape[2:] or c_prev.shape[0] < x.shape[0]:
            raise ValueError('lstm: c_prev must have shape (B_prev, {}{}) with B_prev >= {} for '
                             'x of shape {}, got {}'.format(
                                 x.shape[1] // 4, ''.join(', {}'.format(n) for n in x.shape[2:]),
                                 x.shape[0], x.shape, c_prev.shape))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        c_prev, x = inputs
        batch = x.shape[0]
        gates = _activate(xp, x)
        a, i, f, o = gates
        c = a * i + f * c_prev[:batch]
        tc = xp.tanh(c)
        h = o * tc
        # Kept for backward: the activations cost as much to store as x and are slow to redo.
        self._activations = gates, tc
        if batch < c_prev.shape[0]:
            # Sequences that ended keep their cell state.
            c = xp.concatenate([c, c_prev[batch:]], axis=0)
        return c, h

    def backward(self, indexes, grad_outputs):
        c_prev, x = self.inputs
        gc, gh = grad_outputs
        xp = backend.get_array_module(x.data)
        if gc is None:
            gc = xp.zeros_like(c_prev.data)
        if gh is None:
            gh = xp.zeros((x.shape[0],) + c_prev.shape[1:], x.dtype)
        return LSTMGrad(*self._activations).apply((c_prev, x, gc, gh))


class LSTMGrad(FunctionNode):
    """(c_prev, x, gc, gh) -> (gc_prev, gx), the LSTM's backward as one node."""

    label = 'lstm_grad'

    def __init__(self, gates, tc):
        self.gates = gates
        self.tc = tc

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        c_prev, x, gc, gh = inputs
        batch = x.shape[0]
        a, i, f, o = self.gates
        cp = c_prev[:batch]
        tc = self.tc
        co = gh * o * (1 - tc * tc) + gc[:batch]
        ga = co * i * (1 - a * a)
        gi = co * a * i * (1 - i)
        gf = co * cp * f * (1 - f)
        go = gh * tc * o * (1 - o)
        gx = xp.stack([ga, gi, gf, go], axis=2)
        gc_prev = co * f
        if batch < c_prev.shape[0]:
            gc_prev = xp.concatenate([gc_prev, gc[batch:]], axis=0)
        self.gates = self.tc = None
        return gc_prev, gx.reshape(x.shape)

    def backward(self, indexes, grad_outputs):
        # Second derivatives, written with dchain functions so that they differentiate again.
        c_prev, x, gc, gh = self.inputs
        u_cp, u_x = grad_outputs
        batch = x.shape[0]
        xp = backend.get_array_module(x.data)
        if u_cp is None:
            u_cp = xp.zeros_like(c_prev.data)
        if u_x is None:
            u_x = xp.zeros_like(x.data)
        rest = c_prev.shape[0] > batch
        cp, gc_active = (c_prev[:batch], gc[:batch]) if rest else (c_prev, gc)
        u_cp_active = u_cp[:batch] if rest else u_cp
        a_in, i_in, f_in, o_in = _gates(x)
        u_a, u_i, u_f, u_o = _gates(u_x)
        a, i, f, o = tanh(a_in), sigmoid(i_in), sigmoid(f_in), sigmoid(o_in)
        da, di, df, do = 1 - a * a, i * (1 - i), f * (1 - f), o * (1 - o)
        tc = tanh(a * i + f * cp)
        dtc = 1 - tc * tc
        co = gh * o * dtc + gc_active
        k = u_cp_active * f + u_a * i * da + u_i * a * di + u_f * cp * df
        s_c = k * gh * o * (-2 * tc * dtc) + u_o * gh * do * dtc
        g_a = (u_a * co * i * (-2 * a) + u_i * co * di + s_c * i) * da
        g_i = (u_a * co * da + u_i * co * a * (1 - 2 * i) + s_c * a) * di
        g_f = (u_cp_active * co + u_f * co * cp * (1 - 2 * f) + s_c * cp) * df
        g_o = (k * gh * dtc + u_o * gh * tc * (1 - 2 * o)) * do
        g_cp = u_f * co * df + s_c * f
        g_gc = k
        g_gh = k * o * dtc + u_o * tc * do
        if rest:
            zeros = xp.zeros((c_prev.shape[0] - batch,) + c_prev.shape[1:], x.dtype)
            g_cp = concat([g_cp, zeros], axis=0)
            g_gc = concat([g_gc, u_cp[batch:]], axis=0)
        g_x = reshape(stack([g_a, g_i, g_f, g_o], axis=2), x.shape)
        result = {0: g_cp, 1: g_x, 2: g_gc, 3: g_gh}
        return tuple(result[j] for j in indexes)


def lstm(c_prev, x):
    """One step of an LSTM cell (Chainer's ``F.lstm``).

    With ``a, i, f, o`` the four gate blocks of ``x`` (interleaved: ``x.reshape(B, H, 4)``
    holds them on axis 2), it computes ``c = tanh(a) sigmoid(i) + sigmoid(f) c_prev`` and
    ``h = sigmoid(o) tanh(c)``.

    Args:
        c_prev: the previous cell state, float array of shape (B_prev, H, ...). When
            B_prev > B, rows B and above belong to sequences that ended; they are passed to
            ``c`` unchanged.
        x: the gate pre-activations, shape (B, 4 H, ...), the dtype of ``c_prev``.
    Returns:
        tuple ``(c, h)``: the new cell state (B_prev, H, ...) and the output (B, H, ...).
    """
    return LSTM().apply((c_prev, x))
