import numpy
import pytest

import dchain
import dchain.functions as F
from dchain.testing import assert_allclose, check_backward, check_double_backward


def _sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def _lstm_reference(c_prev, x):
    batch, n = x.shape[0], x.shape[1] // 4
    gates = x.reshape(batch, n, 4, *x.shape[2:])
    a, i, f, o = (gates[:, :, k] for k in range(4))
    c = numpy.tanh(a) * _sigmoid(i) + _sigmoid(f) * c_prev[:batch]
    h = _sigmoid(o) * numpy.tanh(c)
    return numpy.concatenate([c, c_prev[batch:]]), h


@pytest.mark.parametrize('batch, batch_prev, extra', [(3, 3, ()), (2, 4, ()), (0, 2, ()),
                                                      (2, 2, (3,))])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_lstm(xp, rng, batch, batch_prev, extra, dtype):
    c_prev = rng.standard_normal((batch_prev, 3) + extra).astype(dtype)
    x = rng.standard_normal((batch, 12) + extra).astype(dtype)
    c, h = F.lstm(xp.asarray(c_prev), xp.asarray(x))
    c_ref, h_ref = _lstm_reference(c_prev.astype(numpy.float64), x.astype(numpy.float64))
    tol = dict(atol=1e-6, rtol=1e-5) if dtype == numpy.float32 else dict(atol=1e-12)
    assert c.dtype == dtype and h.dtype == dtype
    assert_allclose(c.data, c_ref, **tol)
    assert_allclose(h.data, h_ref, **tol)
    gc = xp.asarray(rng.standard_normal(c_ref.shape), dtype)
    gh = xp.asarray(rng.standard_normal(h_ref.shape), dtype)
    tol = dict(atol=1e-3, rtol=1e-2) if dtype == numpy.float32 else {}
    check_backward(F.lstm, (xp.asarray(c_prev), xp.asarray(x)), (gc, gh), **tol)


@pytest.mark.parametrize('batch, batch_prev', [(3, 3), (2, 4)])
def test_lstm_double_backward(xp, rng, batch, batch_prev):
    c_prev = xp.asarray(rng.standard_normal((batch_prev, 3)))
    x = xp.asarray(rng.standard_normal((batch, 12)))
    gc = xp.asarray(rng.standard_normal((batch_prev, 3)))
    gh = xp.asarray(rng.standard_normal((batch, 3)))
    ggc = xp.asarray(rng.standard_normal((batch_prev, 3)))
    ggx = xp.asarray(rng.standard_normal((batch, 12)))
    check_double_backward(F.lstm, (c_prev, x), (gc, gh), (ggc, ggx))


def test_lstm_only_h_used(rng):
    x = dchain.Variable(rng.standard_normal((2, 8)))
    _, h = F.lstm(numpy.zeros((2, 2)), x)
    F.sum(h).backward()
    assert x.grad.shape == (2, 8) and numpy.isfinite(x.grad).all()


@pytest.mark.parametrize('c_shape, x_shape, error', [
    ((2, 3), (2, 10), ValueError), ((1, 3), (2, 12), ValueError), ((2, 4), (2, 12), ValueError)])
def test_lstm_refuses_bad_shapes(c_shape, x_shape, error):
    with pytest.raises(error, match='lstm'):
        F.lstm(numpy.zeros(c_shape, numpy.float32), numpy.zeros(x_shape, numpy.float32))


def test_lstm_refuses_mixed_dtypes():
    with pytest.raises(TypeError, match='lstm: c_prev and x'):
        F.lstm(numpy.zeros((2, 3)), numpy.zeros((2, 12), numpy.float32))


# -- transpose_sequence and permutate ---------------------------------------------------------

def test_transpose_sequence(xp, rng):
    lengths = [4, 2, 2, 1]
    xs = [xp.asarray(rng.standard_normal((n, 3))) for n in lengths]
    ys = F.transpose_sequence(xs)
    assert [y.shape for y in ys] == [(4, 3), (3, 3), (1, 3), (1, 3)]
    for t, y in enumerate(ys):
        expected = numpy.stack([dchain.backend.to_cpu(x[t]) for x in xs if len(x) > t])
        assert_allclose(y.data, expected, atol=0, rtol=0)
    back = F.transpose_sequence(ys)
    for x, b in zip(xs, back):
        assert_allclose(b.data, x, atol=0, rtol=0)
    gys = tuple(xp.asarray(rng.standard_normal(y.shape)) for y in ys)
    check_backward(lambda *v: F.transpose_sequence(v), tuple(xs), gys)


def test_transpose_sequence_refuses_unsorted():
    with pytest.raises(ValueError, match='transpose_sequence: xs must be sorted'):
        F.transpose_sequence([numpy.zeros((1, 2)), numpy.zeros((3, 2))])


@pytest.mark.parametrize('axis, inv', [(0, False), (1, True), (-1, False)])
def test_permutate(xp, rng, axis, inv):
    x = xp.asarray(rng.standard_normal((3, 4)))
    indices = numpy.array([2, 0, 3, 1][:x.shape[axis]] if x.shape[axis] == 4 else [2, 0, 1])
    y = F.permutate(x, indices, axis=axis, inv=inv)
    order = numpy.argsort(indices) if inv else indices
    assert_allclose(y.data, numpy.take(dchain.backend.to_cpu(x), order, axis=axis), atol=0,
                    rtol=0)
    check_backward(lambda v: F.permutate(v, indices, axis=axis, inv=inv), x,
                   xp.asarray(rng.standard_normal((3, 4))))


def test_permutate_refuses_non_permutation():
    with pytest.raises(ValueError, match='permutate: indices must be a permutation'):
        F.permutate(numpy.zeros(3), numpy.array([0, 0, 1]))


# -- the n-step functions against a step-by-step NumPy reference ------------------------------

def _cell_reference(kind, x, h, c, w, b):
    if kind == 'lstm':
        i = _sigmoid(x @ w[0].T + b[0] + h @ w[4].T + b[4])
        f = _sigmoid(x @ w[1].T + b[1] + h @ w[5].T + b[5])
        a = numpy.tanh(x @ w[2].T + b[2] + h @ w[6].T + b[6])
        o = _sigmoid(x @ w[3].T + b[3] + h @ w[7].T + b[7])
        c = i * a + f * c
        return o * numpy.tanh(c), c
    if kind == 'gru':
        r = _sigmoid(x @ w[0].T + b[0] + h @ w[3].T + b[3])
        z = _sigmoid(x @ w[1].T + b[1] + h @ w[4].T + b[4])
        h_bar = numpy.tanh(x @ w[2].T + b[2] + r * (h @ w[5].T + b[5]))
        return (1 - z) * h_bar + z * h, c
    y = x @ w[0].T + b[0] + h @ w[1].T + b[1]
    return (numpy.tanh(y) if kind == 'tanh' else numpy.maximum(y, 0)), c


def _n_step_reference(kind, n_layers, hx, cx, ws, bs, seqs, directions):
    """Each sequence on its own, step by step (no dropout)."""
    hy, cy = numpy.zeros_like(hx), numpy.zeros_like(hx)
    outputs = []
    for i, seq in enumerate(seqs):
        x = seq
        for layer in range(n_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                h, c = hx[k, i], (cx[k, i] if cx is not None else None)
                steps = range(len(x) - 1, -1, -1) if d else range(len(x))
                out = numpy.zeros((len(x), hx.shape[2]))
                for t in steps:
                    h, c = _cell_reference(kind, x[t], h, c, ws[k], bs[k])
                    out[t] = h
                hy[k, i] = h
                if c is not None:
                    cy[k, i] = c
                outs.append(out)
            x = numpy.concatenate(outs, axis=1)
        outputs.append(x)
    return hy, cy, outputs


N_WEIGHTS = {'lstm': 8, 'gru': 6, 'tanh': 2, 'relu': 2}


def _call(kind, bi, n_layers, hx, cx, ws, bs, xs):
    prefix = 'n_step_bi' if bi else 'n_step_'
    if kind == 'lstm':
        return getattr(F, prefix + 'lstm')(n_layers, 0.0, hx, cx, ws, bs, xs)
    if kind == 'gru':
        hy, ys = getattr(F, prefix + 'gru')(n_layers, 0.0, hx, ws, bs, xs)
    else:
        hy, ys = getattr(F, prefix + 'rnn')(n_layers, 0.0, hx, ws, bs, xs, activation=kind)
    return hy, None, ys


def _inputs(rng, kind, n_layers, directions, lengths, in_size=3, out_size=2):
    n = N_WEIGHTS[kind]
    ws, bs = [], []
    for layer in range(n_layers):
        for _ in range(directions):
            w_in = in_size if layer == 0 else out_size * directions
            ws.append([rng.uniform(-0.8, 0.8, (out_size, w_in if j < n // 2 else out_size))
                       for j in range(n)])
            bs.append([rng.uniform(-0.5, 0.5, out_size) for _ in range(n)])
    shape = (n_layers * directions, len(lengths), out_size)
    hx, cx = rng.standard_normal(shape), rng.standard_normal(shape)
    seqs = [rng.standard_normal((length, in_size)) for length in lengths]
    return hx, (cx if kind == 'lstm' else None), ws, bs, seqs


@pytest.mark.parametrize('kind', ['lstm', 'gru', 'tanh', 'relu'])
@pytest.mark.parametrize('bi', [False, True])
def test_n_step_forward(xp, rng, kind, bi):
    directions = 2 if bi else 1
    lengths = [4, 3, 3, 1]
    hx, cx, ws, bs, seqs = _inputs(rng, kind, 2, directions, lengths)
    hy_ref, cy_ref, ys_ref = _n_step_reference(kind, 2, hx, cx, ws, bs, seqs, directions)
    on = xp.asarray
    with dchain.using_config('train', False):
        hy, cy, ys = _call(kind, bi, 2, on(hx), None if cx is None else on(cx),
                           [[on(w) for w in cell] for cell in ws],
                           [[on(b) for b in cell] for cell in bs],
                           F.transpose_sequence([on(s) for s in seqs]))
    assert_allclose(hy.data, hy_ref, atol=1e-12)
    if kind == 'lstm':
        assert_allclose(cy.data, cy_ref, atol=1e-12)
    for y, y_ref in zip(F.transpose_sequence(ys), ys_ref):
        assert_allclose(y.data, y_ref, atol=1e-12)


@pytest.mark.parametrize('kind', ['lstm', 'gru', 'tanh'])
@pytest.mark.parametrize('bi', [False, True])
def test_n_step_backward(xp, rng, kind, bi):
    directions = 2 if bi else 1
    lengths = [3, 2, 1]
    hx, cx, ws, bs, seqs = _inputs(rng, kind, 2, directions, lengths)
    n = N_WEIGHTS[kind]
    cells = len(ws)
    flat = [hx] + ([cx] if cx is not None else []) + [a for cell in ws for a in cell] + \
        [a for cell in bs for a in cell] + seqs
    flat = tuple(xp.asarray(a) for a in flat)

    def func(*args):
        args = list(args)
        h = args.pop(0)
        c = args.pop(0) if kind == 'lstm' else None
        w = [args[k * n:(k + 1) * n] for k in range(cells)]
        args = args[cells * n:]
        b = [args[k * n:(k + 1) * n] for k in range(cells)]
        xs = F.transpose_sequence(args[cells * n:])
        hy, cy, ys = _call(kind, bi, 2, h, c, w, b, xs)
        return (hy,) + ((cy,) if cy is not None else ()) + tuple(ys)

    outputs = func(*flat)
    gys = tuple(xp.asarray(rng.standard_normal(y.shape)) for y in outputs)
    check_backward(func, flat, gys, atol=1e-5, rtol=1e-4)


def test_n_step_dropout_applies_between_layers(rng):
    hx, cx, ws, bs, seqs = _inputs(rng, 'lstm', 2, 1, [3, 2])
    xs = F.transpose_sequence(seqs)
    with dchain.using_config('train', True):
        first = F.n_step_lstm(2, 0.5, hx, cx, ws, bs, xs)[0].data
        second = F.n_step_lstm(2, 0.5, hx, cx, ws, bs, xs)[0].data
        assert not numpy.allclose(first[1], second[1])  # layer 2 sees dropped inputs
        assert numpy.allclose(first[0], second[0])  # layer 1's input is never dropped


def test_n_step_refuses_bad_input(rng):
    hx, cx, ws, bs, seqs = _inputs(rng, 'lstm', 1, 1, [2, 1])
    with pytest.raises(ValueError, match='n_step_lstm: xs must be time steps'):
        F.n_step_lstm(1, 0.0, hx, cx, ws, bs, [seqs[1], seqs[0]])
    xs = F.transpose_sequence(seqs)
    with pytest.raises(ValueError, match='n_step_lstm: hx must have shape'):
        F.n_step_lstm(1, 0.0, hx[:, :1], cx, ws, bs, xs)
    with pytest.raises(ValueError, match='n_step_lstm: ws must hold 1 lists'):
        F.n_step_lstm(1, 0.0, hx, cx, ws * 2, bs, xs)
    with pytest.raises(ValueError, match="n_step_rnn: activation must be 'tanh' or 'relu'"):
        F.n_step_rnn(1, 0.0, hx, [w[:2] for w in ws], [b[:2] for b in bs], xs,
                     activation='sigmoid')


def test_linear_interpolate(xp, rng):
    p, x, y = (xp.asarray(rng.uniform(-1, 1, (2, 3))) for _ in range(3))
    z = F.linear_interpolate(p, x, y)
    host = [dchain.backend.to_cpu(a) for a in (p, x, y)]
    assert_allclose(z.data, host[0] * host[1] + (1 - host[0]) * host[2], atol=1e-12)
    check_backward(F.linear_interpolate, (p, x, y), xp.asarray(rng.standard_normal((2, 3))))
    with pytest.raises(ValueError, match='linear_interpolate: p, x and y must have one shape'):
        F.linear_interpolate(p, x, y[:1])
