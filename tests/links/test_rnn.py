import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain.testing import assert_allclose, check_backward


def _sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def _lstm_step(W_up, b_up, W_lat, x, h, c):
    z = x @ W_up.T + b_up + (h @ W_lat.T if h is not None else 0)
    gates = z.reshape(len(x), -1, 4)
    a, i, f, o = (gates[:, :, k] for k in range(4))
    c = numpy.tanh(a) * _sigmoid(i) + _sigmoid(f) * (c if c is not None else 0)
    return _sigmoid(o) * numpy.tanh(c), c


def test_lstm_keeps_state_and_matches_reference(rng):
    link = L.LSTM(3, 4)
    x1, x2 = rng.standard_normal((2, 3)).astype(numpy.float32), \
        rng.standard_normal((2, 3)).astype(numpy.float32)
    y1 = link(x1)
    y2 = link(x2)
    W_up, b_up, W_lat = (p.array.astype(numpy.float64) for p in
                         (link.upward.W, link.upward.b, link.lateral.W))
    h, c = _lstm_step(W_up, b_up, W_lat, x1, None, None)
    assert_allclose(y1.data, h, atol=1e-5)
    h, c = _lstm_step(W_up, b_up, W_lat, x2, h, c)
    assert_allclose(y2.data, h, atol=1e-5)
    assert_allclose(link.c.data, c, atol=1e-5)
    link.reset_state()
    assert link.h is None and link.c is None
    assert_allclose(link(x1).data, y1.data, atol=0, rtol=0)


def test_lstm_initialization():
    link = L.LSTM(3, 2, forget_bias_init=2.5, bias_init=0.5)
    gates = link.upward.b.array.reshape(2, 4)
    assert (gates[:, 2] == 2.5).all() and (gates[:, [0, 1, 3]] == 0.5).all()
    assert link.upward.W.shape == (8, 3) and link.lateral.W.shape == (8, 2)
    assert link.lateral.b is None
    default = L.LSTM(3, 2).upward.b.array.reshape(2, 4)
    assert (default[:, 2] == 1).all() and (default[:, [0, 1, 3]] == 0).all()


def test_lstm_lazy_input_size(rng):
    link = L.LSTM(None, 4)
    assert link.upward.W.array is None
    y = link(rng.standard_normal((2, 5)).astype(numpy.float32))
    assert y.shape == (2, 4) and link.upward.W.shape == (16, 5)
    assert L.LSTM(4).state_size == 4


def test_lstm_shrinking_batch_keeps_rest(rng):
    link = L.LSTM(3, 2)
    link(rng.standard_normal((3, 3)).astype(numpy.float32))
    h_before = link.h.data.copy()
    c_before = link.c.data.copy()
    y = link(rng.standard_normal((1, 3)).astype(numpy.float32))
    assert y.shape == (1, 2) and link.h.shape == (3, 2)
    assert_allclose(link.h.data[1:], h_before[1:], atol=0, rtol=0)
    assert_allclose(link.c.data[1:], c_before[1:], atol=0, rtol=0)
    with pytest.raises(ValueError, match='LSTM: the batch size of x'):
        link(rng.standard_normal((4, 3)).astype(numpy.float32))


def test_lstm_backward(rng):
    link = L.LSTM(3, 2)
    link.to_device('@numpy')
    x = rng.standard_normal((2, 2, 3))

    def func(x):
        link.reset_state()
        return F.stack([link(x[0]), link(x[1])])

    for p in link.params():
        p.array = p.array.astype(numpy.float64)
    check_backward(func, x, rng.standard_normal((2, 2, 2)), params=tuple(link.params()))


def test_lstm_set_state_and_copy(rng):
    link = L.LSTM(3, 2)
    link.set_state(numpy.ones((1, 2), numpy.float32), numpy.zeros((1, 2), numpy.float32))
    copy = link.copy()
    copy.reset_state()
    assert link.h is not None and copy.h is None
    assert copy.upward.W is not link.upward.W and copy.upward.W.array is link.upward.W.array


def test_lstm_refuses_bad_size():
    with pytest.raises(ValueError, match='LSTM: out_size must be a positive int'):
        L.LSTM(3, 0)


def test_stateless_lstm(rng):
    link = L.StatelessLSTM(3, 2)
    x = rng.standard_normal((2, 3)).astype(numpy.float32)
    c, h = link(None, None, x)
    c2, h2 = link(c, h, x)
    W_up, b_up, W_lat = (p.array.astype(numpy.float64) for p in
                         (link.upward.W, link.upward.b, link.lateral.W))
    h_ref, c_ref = _lstm_step(W_up, b_up, W_lat, x, None, None)
    h_ref, c_ref = _lstm_step(W_up, b_up, W_lat, x, h_ref, c_ref)
    assert_allclose(h2.data, h_ref, atol=1e-5)
    assert_allclose(c2.data, c_ref, atol=1e-5)


# -- the n-step links ----------------------------------------------------------------------

LINKS = [('NStepLSTM', 8, 1), ('NStepBiLSTM', 8, 2), ('NStepGRU', 6, 1), ('NStepBiGRU', 6, 2),
         ('NStepRNNTanh', 2, 1), ('NStepRNNReLU', 2, 1), ('NStepBiRNNTanh', 2, 2),
         ('NStepBiRNNReLU', 2, 2)]


def _run(link, name, hx, cx, xs):
    if 'LSTM' in name:
        return link(hx, cx, xs)
    hy, ys = link(hx, xs)
    return hy, None, ys


@pytest.mark.parametrize('name, n_weights, directions', LINKS)
def test_n_step_link_shapes_and_layout(name, n_weights, directions):
    link = getattr(L, name)(2, 3, 4, 0.1)
    assert len(link) == 2 * directions
    assert len(link.ws) == 2 * directions and len(link.ws[0]) == n_weights
    assert link.ws[0][0].shape == (4, 3)
    assert link.ws[-1][0].shape == (4, 4 * directions)
    assert link.ws[0][-1].shape == (4, 4)
    assert (link.bs[0][0].array == 0).all()
    names = {path for path, _ in link.namedparams()}
    assert '/0/w0' in names and '/1/b{}'.format(n_weights - 1) in names


@pytest.mark.parametrize('name, n_weights, directions', LINKS)
def test_n_step_link_any_order_equals_sorted_function(rng, name, n_weights, directions):
    link = getattr(L, name)(2, 3, 4, 0.0)
    lengths = [2, 5, 1, 5]
    xs = [rng.standard_normal((n, 3)).astype(numpy.float32) for n in lengths]
    shape = (2 * directions, 4, 4)
    hx = rng.standard_normal(shape).astype(numpy.float32)
    cx = rng.standard_normal(shape).astype(numpy.float32)
    hy, cy, ys = _run(link, name, hx, cx, xs)
    assert [y.shape for y in ys] == [(n, 4 * directions) for n in lengths]
    assert hy.shape == shape
    # Each sequence alone gives the same outputs and final states.
    for i, x in enumerate(xs):
        hy_i, cy_i, (y_i,) = _run(link, name, hx[:, i:i + 1], cx[:, i:i + 1], [x])
        assert_allclose(ys[i].data, y_i.data, atol=1e-6)
        assert_allclose(hy.data[:, i], hy_i.data[:, 0], atol=1e-6)
        if cy is not None:
            assert_allclose(cy.data[:, i], cy_i.data[:, 0], atol=1e-6)


@pytest.mark.parametrize('name, n_weights, directions', LINKS[:4])
def test_n_step_link_backward(rng, name, n_weights, directions):
    link = getattr(L, name)(1, 2, 3, 0.0)
    for p in link.params():
        p.array = p.array.astype(numpy.float64)
    xs = [rng.standard_normal((n, 2)) for n in (1, 3)]

    def func(a, b):
        hy, cy, ys = _run(link, name, None, None, [a, b])
        return (hy,) + tuple(ys)

    gys = (rng.standard_normal((directions, 2, 3)), rng.standard_normal((1, 3 * directions)),
           rng.standard_normal((3, 3 * directions)))
    check_backward(func, tuple(xs), gys, params=tuple(link.params()))


def test_n_step_link_refuses_bad_input():
    link = L.NStepLSTM(1, 3, 2, 0.0)
    with pytest.raises(ValueError, match='NStepLSTM: xs must be a non-empty list'):
        link(None, None, [])
    with pytest.raises(ValueError, match='NStepLSTM: every sequence needs at least one step'):
        link(None, None, [numpy.zeros((0, 3), numpy.float32)])
    with pytest.raises(ValueError, match='NStepGRU: dropout must be in'):
        L.NStepGRU(1, 3, 2, 1.5)


def test_n_step_link_serializes_like_chainer(tmp_path):
    link = L.NStepLSTM(2, 3, 4, 0.0)
    path = str(tmp_path / 'model.npz')
    dchain.serializers.save_npz(path, link)
    keys = set(numpy.load(path).files)
    assert keys == {'{}/{}{}'.format(c, p, j) for c in range(2) for p in 'wb' for j in range(8)}
    other = L.NStepLSTM(2, 3, 4, 0.0)
    dchain.serializers.load_npz(path, other)
    assert_allclose(other.ws[1][5].data, link.ws[1][5].data, atol=0, rtol=0)


# -- GRU links ------------------------------------------------------------------------------

def _gru_reference(link, h, x):
    def lin(name, v):
        layer = getattr(link, name)
        return v @ layer.W.array.T.astype(numpy.float64) + layer.b.array
    r = _sigmoid(lin('W_r', x) + lin('U_r', h))
    z = _sigmoid(lin('W_z', x) + lin('U_z', h))
    h_bar = numpy.tanh(lin('W', x) + lin('U', r * h))
    return (1 - z) * h + z * h_bar


def test_stateless_gru(rng):
    link = L.StatelessGRU(3, 4, bias_init=0.1)
    h = rng.standard_normal((2, 4))
    x = rng.standard_normal((2, 3))
    y = link(h.astype(numpy.float32), x.astype(numpy.float32))
    assert_allclose(y.data, _gru_reference(link, h, x), atol=1e-5)
    for p in link.params():
        p.array = p.array.astype(numpy.float64)
    check_backward(link, (h, x), rng.standard_normal((2, 4)), params=tuple(link.params()))


def test_stateful_gru_keeps_state(rng):
    link = L.GRU(3, 4)
    xs = [rng.standard_normal((2, 3)) for _ in range(2)]
    y1 = link(xs[0].astype(numpy.float32))
    y2 = link(xs[1].astype(numpy.float32))
    # From h = 0 the first step is z * h_bar, i.e. the reference with h = 0.
    h = _gru_reference(link, numpy.zeros((2, 4)), xs[0])
    assert_allclose(y1.data, h, atol=1e-5)
    assert_allclose(y2.data, _gru_reference(link, h, xs[1]), atol=1e-5)
    assert link.h is y2
    link.reset_state()
    assert link.h is None
    link.set_state(numpy.zeros((2, 4), numpy.float32))
    assert_allclose(link(xs[0].astype(numpy.float32)).data, y1.data, atol=1e-6)
    with pytest.raises(TypeError, match='GRU: forward takes one argument x'):
        link(numpy.zeros((2, 4), numpy.float32), xs[0])


def test_stateful_gru_backward(rng):
    link = L.StatefulGRU(3, 2)
    for p in link.params():
        p.array = p.array.astype(numpy.float64)

    def func(x):
        link.reset_state()
        return F.stack([link(x[0]), link(x[1])])

    check_backward(func, rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 2, 2)),
                   params=tuple(link.params()))
