import itertools

import numpy
import pytest

import dchain
import dchain.functions as F
from dchain.testing import assert_allclose, check_backward, check_double_backward


def convolution_reference(x, W, b, stride, pad, dilate, groups, cover_all):
    """N-d convolution written out with loops over the kernel taps, in float64."""
    x, W = numpy.asarray(x, numpy.float64), numpy.asarray(W, numpy.float64)
    d = x.ndim - 2
    ksize = W.shape[2:]
    out = []
    for size, k, s, p, dl in zip(x.shape[2:], ksize, stride, pad, dilate):
        extent = (k - 1) * dl + 1
        out.append((size + 2 * p - extent + (s - 1 if cover_all else 0)) // s + 1)
    widths = [(0, 0), (0, 0)] + [(p, p + s) for p, s in zip(pad, stride)]
    x = numpy.pad(x, widths)
    y = numpy.zeros((x.shape[0], W.shape[0]) + tuple(out))
    in_group, out_group = W.shape[1], W.shape[0] // groups
    for tap in itertools.product(*[range(k) for k in ksize]):
        index = tuple(slice(t * dl, t * dl + s * (o - 1) + 1, s)
                      for t, dl, s, o in zip(tap, dilate, stride, out))
        window = x[(slice(None), slice(None)) + index]
        for g in range(groups):
            xs = window[:, g * in_group:(g + 1) * in_group]
            ws = W[(slice(g * out_group, (g + 1) * out_group), slice(None)) + tap]
            y[:, g * out_group:(g + 1) * out_group] += numpy.einsum('nc...,oc->no...', xs, ws)
    if b is not None:
        y += numpy.asarray(b).reshape((1, -1) + (1,) * d)
    return y


# (x shape, W shape, stride, pad, dilate, groups, cover_all)
CASES = [
    ((2, 3, 7), (4, 3, 3), (1,), (0,), (1,), 1, False),
    ((2, 4, 9), (6, 2, 3), (2,), (1,), (2,), 2, True),
    ((2, 2, 5, 6), (3, 2, 3, 2), (2, 1), (1, 0), (1, 1), 1, True),
    ((1, 3, 4, 5, 6), (4, 3, 2, 3, 2), (2, 1, 2), (1, 0, 1), (1, 2, 1), 1, True),
    ((2, 4, 5, 4, 4), (4, 2, 3, 1, 2), (1, 2, 1), (1, 1, 0), (1, 1, 1), 2, False),
    ((1, 2, 3, 4, 3, 3), (2, 2, 2, 2, 1, 2), (1, 1, 1, 1), (0, 1, 0, 1), (1, 1, 1, 1), 1,
     False),
]


@pytest.mark.parametrize('x_shape,w_shape,stride,pad,dilate,groups,cover_all', CASES)
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_forward_matches_loops(xp, rng, x_shape, w_shape, stride, pad, dilate, groups,
                               cover_all, dtype):
    x = rng.uniform(-1, 1, x_shape)
    W = rng.uniform(-1, 1, w_shape)
    b = rng.uniform(-1, 1, w_shape[0])
    y = F.convolution_nd(xp.asarray(x, dtype), xp.asarray(W, dtype), xp.asarray(b, dtype),
                         stride, pad, cover_all, dilate, groups)
    assert y.dtype == dtype
    expected = convolution_reference(x, W, b, stride, pad, dilate, groups, cover_all)
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == numpy.float32 else dict(atol=1e-12, rtol=1e-12)
    assert_allclose(y.data, expected, **tol)


@pytest.mark.parametrize('x_shape,w_shape,stride,pad,dilate,groups,cover_all', CASES)
def test_backward(xp, rng, x_shape, w_shape, stride, pad, dilate, groups, cover_all):
    x = xp.asarray(rng.uniform(-1, 1, x_shape))
    W = xp.asarray(rng.uniform(-1, 1, w_shape))
    b = xp.asarray(rng.uniform(-1, 1, w_shape[0]))

    def func(x, W, b):
        return F.convolution_nd(x, W, b, stride, pad, cover_all, dilate, groups)
    gy = xp.asarray(rng.uniform(-1, 1, func(x, W, b).shape))
    check_backward(func, (x, W, b), gy)


@pytest.mark.parametrize('x_shape,w_shape,stride,pad,dilate,groups,cover_all',
                         [CASES[1], CASES[3]])
def test_double_backward(xp, rng, x_shape, w_shape, stride, pad, dilate, groups, cover_all):
    x = xp.asarray(rng.uniform(-1, 1, x_shape))
    W = xp.asarray(rng.uniform(-1, 1, w_shape))

    def func(x, W):
        return F.convolution_nd(x, W, None, stride, pad, cover_all, dilate, groups)
    gy = xp.asarray(rng.uniform(-1, 1, func(x, W).shape))
    check_double_backward(func, (x, W), gy, (xp.asarray(rng.uniform(-1, 1, x_shape)),
                                             xp.asarray(rng.uniform(-1, 1, w_shape))))


def test_1d_and_3d_names(xp, rng):
    x = xp.asarray(rng.uniform(-1, 1, (2, 3, 6)), numpy.float32)
    W = xp.asarray(rng.uniform(-1, 1, (4, 3, 2)), numpy.float32)
    assert_allclose(F.convolution_1d(x, W, stride=2).data,
                    F.convolution_nd(x, W, stride=2).data, atol=0, rtol=0)
    with pytest.raises(ValueError, match=r'convolution_3d: x must have shape \(N, C, D, H, W\)'):
        F.convolution_3d(x, W)


def test_errors(xp):
    x = xp.ones((2, 3, 5, 5, 5), numpy.float32)
    with pytest.raises(ValueError, match=r'convolution_nd: W must have 5 dimensions'):
        F.convolution_nd(x, xp.ones((4, 3, 2, 2), numpy.float32))
    with pytest.raises(TypeError, match='convolution_nd: x and W must be float arrays of the '
                                        'same dtype, got float32 and float64'):
        F.convolution_nd(x, xp.ones((4, 3, 2, 2, 2)))
    with pytest.raises(ValueError, match=r'x of shape \(2, 3, 5, 5, 5\) has 3 channels but W'):
        F.convolution_nd(x, xp.ones((4, 2, 2, 2, 2), numpy.float32))
    with pytest.raises(TypeError, match=r'convolution_nd: stride must be an int or a tuple of 3 '
                                        r'ints, got \(1, 2\)'):
        F.convolution_nd(x, xp.ones((4, 3, 2, 2, 2), numpy.float32), stride=(1, 2))
    with pytest.raises(ValueError, match=r'convolution_nd: the kernel \(6, 2, 2\)'):
        F.convolution_nd(x, xp.ones((4, 3, 6, 2, 2), numpy.float32))
    with pytest.raises(ValueError, match=r'convolution_nd: b must have shape \(4,\)'):
        F.convolution_nd(x, xp.ones((4, 3, 2, 2, 2), numpy.float32),
                         xp.ones(3, numpy.float32))
    with pytest.raises(ValueError, match='convolution_nd: x must have shape'):
        F.convolution_nd(xp.ones((2, 3), numpy.float32), xp.ones((4, 3), numpy.float32))


def test_gradients_reach_variables(xp, rng):
    x = dchain.Variable(xp.asarray(rng.uniform(-1, 1, (2, 2, 4, 4, 4)), numpy.float32))
    W = dchain.Variable(xp.asarray(rng.uniform(-1, 1, (3, 2, 2, 2, 2)), numpy.float32))
    F.sum(F.convolution_nd(x, W)).backward()
    assert x.grad.shape == x.shape and W.grad.shape == W.shape
