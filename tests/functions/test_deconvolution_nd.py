"""F.deconvolution_nd (1-D, 3-D and beyond) and the DeconvolutionND links, against NumPy."""
import itertools

import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain.testing import assert_allclose, check_backward, check_double_backward


def deconvolution_reference(x, W, b, stride, pad, outsize, dilate, groups):
    """N-d transposed convolution in float64: every input element spreads its kernel."""
    x, W = numpy.asarray(x, numpy.float64), numpy.asarray(W, numpy.float64)
    d = x.ndim - 2
    sizes = x.shape[2:]
    ksize = W.shape[2:]
    full = [s * (n - 1) + (k - 1) * dl + 1 for n, k, s, dl in zip(sizes, ksize, stride, dilate)]
    if outsize is None:
        outsize = [f - 2 * p for f, p in zip(full, pad)]
    in_group, out_group = W.shape[0] // groups, W.shape[1]
    y = numpy.zeros((x.shape[0], out_group * groups) +
                    tuple(max(f, p + o) for f, p, o in zip(full, pad, outsize)))
    for tap in itertools.product(*[range(k) for k in ksize]):
        index = tuple(slice(t * dl, t * dl + s * (n - 1) + 1, s)
                      for t, dl, s, n in zip(tap, dilate, stride, sizes))
        for g in range(groups):
            xs = x[:, g * in_group:(g + 1) * in_group]
            ws = W[(slice(g * in_group, (g + 1) * in_group), slice(None)) + tap]
            target = (slice(None), slice(g * out_group, (g + 1) * out_group)) + index
            y[target] += numpy.einsum('nc...,co->no...', xs, ws)
    y = y[(slice(None), slice(None)) + tuple(slice(p, p + o) for p, o in zip(pad, outsize))]
    if b is not None:
        y = y + numpy.asarray(b).reshape((1, -1) + (1,) * d)
    return y


# (x shape, W shape, stride, pad, outsize, dilate, groups)
CASES = [
    ((2, 4, 5), (4, 3, 3), (2,), (1,), None, (2,), 2),
    ((2, 2, 3, 3), (2, 3, 3, 3), (2, 2), (1, 1), (6, 6), (1, 1), 1),
    ((2, 3, 3, 4, 3), (3, 2, 2, 3, 2), (2, 1, 3), (1, 0, 1), None, (1, 2, 1), 1),
    ((1, 2, 3, 2, 3), (2, 2, 3, 2, 2), (2, 2, 2), (1, 1, 1), (6, 3, 5), (1, 1, 1), 1),
    ((2, 2, 4, 3, 2), (2, 3, 1, 2, 2), (3, 3, 3), (0, 0, 0), (11, 8, 5), (1, 1, 1), 1),
    ((1, 4, 2, 3, 2, 2), (4, 1, 2, 2, 1, 2), (1, 2, 1, 2), (0, 1, 0, 0), None, (1, 1, 1, 1), 2),
]


@pytest.mark.parametrize('x_shape,w_shape,stride,pad,outsize,dilate,groups', CASES)
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_forward_matches_loops(xp, rng, x_shape, w_shape, stride, pad, outsize, dilate, groups,
                               dtype):
    x = rng.uniform(-1, 1, x_shape)
    W = rng.uniform(-1, 1, w_shape)
    b = rng.uniform(-1, 1, w_shape[1] * groups)
    y = F.deconvolution_nd(xp.asarray(x, dtype), xp.asarray(W, dtype), xp.asarray(b, dtype),
                           stride, pad, outsize, dilate, groups)
    assert y.dtype == dtype
    expected = deconvolution_reference(x, W, b, stride, pad, outsize, dilate, groups)
    assert y.shape == expected.shape
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == numpy.float32 else dict(atol=1e-12, rtol=1e-12)
    assert_allclose(y.data, expected, **tol)


@pytest.mark.parametrize('x_shape,w_shape,stride,pad,outsize,dilate,groups', CASES)
def test_backward(xp, rng, x_shape, w_shape, stride, pad, outsize, dilate, groups):
    x = xp.asarray(rng.uniform(-1, 1, x_shape))
    W = xp.asarray(rng.uniform(-1, 1, w_shape))
    b = xp.asarray(rng.uniform(-1, 1, w_shape[1] * groups))

    def func(x, W, b):
        return F.deconvolution_nd(x, W, b, stride, pad, outsize, dilate, groups)
    gy = xp.asarray(rng.uniform(-1, 1, func(x, W, b).shape))
    check_backward(func, (x, W, b), gy)


def test_double_backward(xp, rng):
    x_shape, w_shape, stride, pad, outsize, dilate, groups = CASES[3]
    x = xp.asarray(rng.uniform(-1, 1, x_shape))
    W = xp.asarray(rng.uniform(-1, 1, w_shape))

    def func(x, W):
        return F.deconvolution_nd(x, W, None, stride, pad, outsize, dilate, groups)
    gy = xp.asarray(rng.uniform(-1, 1, func(x, W).shape))
    check_double_backward(func, (x, W), gy, (xp.asarray(rng.uniform(-1, 1, x_shape)),
                                             xp.asarray(rng.uniform(-1, 1, w_shape))))


def test_transposes_convolution_nd(xp, rng):
    # <conv(x), y> == <x, deconv(y)> with the same W, stride, pad and dilation.
    x = xp.asarray(rng.uniform(-1, 1, (2, 3, 7, 6, 5)))
    W = xp.asarray(rng.uniform(-1, 1, (4, 3, 3, 2, 3)))
    y = F.convolution_nd(x, W, stride=(2, 1, 2), pad=(1, 0, 1), dilate=(1, 2, 1))
    g = xp.asarray(rng.uniform(-1, 1, y.shape))
    back = F.deconvolution_nd(g, W, stride=(2, 1, 2), pad=(1, 0, 1), outsize=(7, 6, 5),
                              dilate=(1, 2, 1))
    assert_allclose(float((y.data * g).sum()), float((x * back.data).sum()), atol=1e-10,
                    rtol=1e-10)


def test_errors(xp):
    x = xp.ones((2, 3, 4, 4, 4), numpy.float32)
    W = xp.ones((3, 2, 2, 2, 2), numpy.float32)
    with pytest.raises(ValueError, match=r'deconvolution_nd: outsize 20 does not match x of '
                                         r'shape \(2, 3, 4, 4, 4\)'):
        F.deconvolution_nd(x, W, stride=2, outsize=(20, 8, 8))
    with pytest.raises(ValueError, match=r'x of shape \(2, 3, 4, 4, 4\) has 3 channels but W '
                                         r'of shape \(2, 2, 2, 2, 2\) expects 2'):
        F.deconvolution_nd(x, xp.ones((2, 2, 2, 2, 2), numpy.float32))
    with pytest.raises(ValueError, match=r'deconvolution_nd: b must have shape \(2,\)'):
        F.deconvolution_nd(x, W, xp.ones(3, numpy.float32))
    with pytest.raises(ValueError, match=r'deconvolution_1d: x must have shape \(N, C, L\)'):
        F.deconvolution_1d(x, W)


def test_deconvolution_nd_links(rng):
    link = L.DeconvolutionND(3, 2, 4, 3, stride=2, pad=1)
    assert link.W.shape == (2, 4, 3, 3, 3)
    x = rng.uniform(-1, 1, (1, 2, 3, 2, 3)).astype(numpy.float32)
    y = link(x)
    expected = deconvolution_reference(x, link.W.data, link.b.data, (2, 2, 2), (1, 1, 1), None,
                                       (1, 1, 1), 1)
    assert_allclose(y.data, expected, atol=1e-5, rtol=1e-4)
    short = L.Deconvolution1D(5, 3, stride=2, outsize=(10,), nobias=True)
    assert short(numpy.ones((2, 4, 5), numpy.float32)).shape == (2, 5, 10)
    assert short.W.shape == (4, 5, 3) and short.b is None
    link3 = L.Deconvolution3D(2, 6, 2, groups=2)
    assert link3(numpy.ones((1, 2, 2, 2, 2), numpy.float32)).shape == (1, 6, 3, 3, 3)
    assert link3.W.shape == (2, 3, 2, 2, 2)
    params = tuple(link.params())
    x64 = rng.uniform(-1, 1, x.shape)
    for param in params:
        param.data = param.data.astype(numpy.float64)
    check_backward(link, x64, rng.uniform(-1, 1, y.shape), params=params)
    with pytest.raises(ValueError, match=r'Deconvolution1D: x must have 3 dimensions'):
        L.Deconvolution1D(5, 3)(numpy.ones((2, 4, 9, 9), numpy.float32))
    assert isinstance(dchain.links.DeconvolutionND(2, 3, 2, 2), dchain.Link)
