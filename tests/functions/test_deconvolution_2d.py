import numpy
import pytest

import dchain
import dchain.functions as F
from dchain import backend
from dchain.testing import assert_allclose, check_backward, check_double_backward

TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-4, rtol=1e-3),
       numpy.float64: dict(atol=1e-6, rtol=1e-5)}
GRAD_TOL = {numpy.float16: dict(atol=1e-1, rtol=1e-1), numpy.float32: dict(atol=1e-3, rtol=1e-2),
            numpy.float64: dict(atol=1e-6, rtol=1e-5)}

# (x shape, W shape, stride, pad, dilate, groups, outsize)
CASES = [
    ((2, 3, 4, 5), (3, 4, 3, 3), 1, 0, 1, 1, None),
    ((2, 3, 4, 3), (3, 2, 3, 2), (2, 1), (1, 0), 1, 1, None),
    ((1, 2, 3, 3), (2, 3, 2, 2), 2, 0, 1, 1, (7, 7)),
    ((2, 4, 3, 4), (4, 3, 3, 2), (2, 2), (1, 0), (2, 1), 2, None),
    ((2, 6, 3, 3), (6, 1, 2, 3), (3, 2), (0, 1), (1, 2), 3, (8, 8)),
    ((1, 2, 2, 2), (2, 2, 1, 1), 1, 0, 1, 1, None),
]


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def reference_deconv(x, W, b, stride, pad, dilate, groups, outsize):
    """Each input pixel scatters its filter-weighted copy into the output, in float64."""
    x, W = backend.to_cpu(x).astype(numpy.float64), backend.to_cpu(W).astype(numpy.float64)
    (sy, sx), (ph, pw), (dy, dx) = _pair(stride), _pair(pad), _pair(dilate)
    n, in_c, h, w = x.shape
    _, group_out, kh, kw = W.shape
    if outsize is None:
        outsize = (sy * (h - 1) + (kh - 1) * dy + 1 - 2 * ph,
                   sx * (w - 1) + (kw - 1) * dx + 1 - 2 * pw)
    out_h, out_w = outsize
    big = numpy.zeros((n, group_out * groups, out_h + 2 * ph + sy * kh * dy,
                       out_w + 2 * pw + sx * kw * dx))
    group_in = in_c // groups
    for c in range(in_c):
        g = c // group_in
        for i in range(h):
            for j in range(w):
                for a in range(kh):
                    for e in range(kw):
                        big[:, g * group_out:(g + 1) * group_out, i * sy + a * dy,
                            j * sx + e * dx] += x[:, c, i, j, None] * W[c, :, a, e]
    y = big[:, :, ph:ph + out_h, pw:pw + out_w]
    if b is not None:
        y = y + backend.to_cpu(b)[None, :, None, None]
    return y


def _arrays(xp, rng, shapes, dtype):
    return [xp.asarray(rng.uniform(-1, 1, shape), dtype=dtype) for shape in shapes]


def _bias_shape(w_shape, groups):
    return (w_shape[1] * groups,)


@pytest.mark.parametrize('x_shape,w_shape,stride,pad,dilate,groups,outsize', CASES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
@pytest.mark.parametrize('nobias', [False, True])
def test_forward_matches_loops(xp, rng, x_shape, w_shape, stride, pad, dilate, groups, outsize,
                               dtype, nobias):
    x, W, b = _arrays(xp, rng, [x_shape, w_shape, _bias_shape(w_shape, groups)], dtype)
    b = None if nobias else b
    y = F.deconvolution_2d(x, W, b, stride, pad, outsize, dilate=dilate, groups=groups)
    expected = reference_deconv(x, W, b, stride, pad, dilate, groups, outsize)
    assert y.shape == expected.shape
    assert y.dtype == dtype
    assert_allclose(y.data, expected, **TOL[dtype])


@pytest.mark.parametrize('x_shape,w_shape,stride,pad,dilate,groups,outsize', CASES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_backward(xp, rng, x_shape, w_shape, stride, pad, dilate, groups, outsize, dtype):
    x, W, b = _arrays(xp, rng, [x_shape, w_shape, _bias_shape(w_shape, groups)], dtype)

    def func(x, W, b):
        return F.deconvolution_2d(x, W, b, stride, pad, outsize, dilate=dilate, groups=groups)
    gy = xp.asarray(rng.uniform(-1, 1, func(x, W, b).shape), dtype=dtype)
    check_backward(func, (x, W, b), gy, **GRAD_TOL[dtype])


@pytest.mark.parametrize('x_shape,w_shape,stride,pad,dilate,groups,outsize', CASES[:5])
def test_double_backward(xp, rng, x_shape, w_shape, stride, pad, dilate, groups, outsize):
    shapes = [x_shape, w_shape, _bias_shape(w_shape, groups)]
    x, W, b = _arrays(xp, rng, shapes, numpy.float64)

    def func(x, W, b):
        return F.deconvolution_2d(x, W, b, stride, pad, outsize, dilate=dilate, groups=groups)
    gy = xp.asarray(rng.uniform(-1, 1, func(x, W, b).shape))
    check_double_backward(func, (x, W, b), gy, tuple(_arrays(xp, rng, shapes, numpy.float64)),
                          atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize('stride,pad,cover_all', [(1, 0, False), (2, 1, False), (3, 1, True)])
def test_transposes_convolution(xp, rng, stride, pad, cover_all):
    # <conv(x), y> == <x, deconv(y)> when deconv maps back to the size of x.
    x, W = _arrays(xp, rng, [(2, 3, 8, 7), (4, 3, 3, 2)], numpy.float64)
    y = F.convolution_2d(x, W, stride=stride, pad=pad, cover_all=cover_all).data
    z = xp.asarray(rng.uniform(-1, 1, y.shape))
    back = F.deconvolution_2d(z, W, stride=stride, pad=pad, outsize=(8, 7)).data
    assert back.shape == x.shape
    assert abs(float((y * z).sum()) - float((x * back).sum())) < 1e-9


def test_channel_mismatch_names_both_shapes(xp):
    with pytest.raises(ValueError, match=r'deconvolution_2d: x of shape \(1, 3, 4, 4\) has 3 '
                                         r'channels but W of shape \(2, 5, 3, 3\) expects 2'):
        F.deconvolution_2d(xp.ones((1, 3, 4, 4), numpy.float32),
                           xp.ones((2, 5, 3, 3), numpy.float32))


def test_three_dimensional_x_is_refused(xp):
    with pytest.raises(ValueError, match=r'deconvolution_2d: x must be a 4-D array'):
        F.deconvolution_2d(xp.ones((2, 4, 4), numpy.float32), xp.ones((2, 1, 3, 3), numpy.float32))


def test_outsize_must_match(xp):
    x = xp.ones((1, 1, 3, 3), numpy.float32)
    W = xp.ones((1, 1, 3, 3), numpy.float32)
    # stride 2: outputs of 7 and 8 both convolve back to 3; 9 does not.
    assert F.deconvolution_2d(x, W, stride=2, outsize=(8, 7)).shape == (1, 1, 8, 7)
    with pytest.raises(ValueError, match=r'deconvolution_2d: outsize \(9, 7\) does not match x '
                                         r'of shape \(1, 1, 3, 3\)'):
        F.deconvolution_2d(x, W, stride=2, outsize=(9, 7))


def test_empty_output_is_refused(xp):
    with pytest.raises(ValueError, match='deconvolution_2d: the output of x of shape '
                                         r'\(1, 1, 1, 1\) .* would be empty'):
        F.deconvolution_2d(xp.ones((1, 1, 1, 1), numpy.float32),
                           xp.ones((1, 1, 2, 2), numpy.float32), pad=1)


def test_bias_shape_and_dtype(xp):
    x = xp.ones((1, 2, 3, 3), numpy.float32)
    W = xp.ones((2, 3, 2, 2), numpy.float32)
    with pytest.raises(ValueError, match=r'deconvolution_2d: b must have shape \(3,\)'):
        F.deconvolution_2d(x, W, xp.ones(2, numpy.float32))
    with pytest.raises(TypeError, match='deconvolution_2d: b must have the dtype of x'):
        F.deconvolution_2d(x, W, xp.ones(3, numpy.float64))
    with pytest.raises(TypeError, match='deconvolution_2d: outsize must be an int or a pair'):
        F.deconvolution_2d(x, W, outsize=(1, 2, 3))


@pytest.mark.parametrize('groups', [1, 2])
def test_empty_batch(xp, groups):
    # Chainer computes on an empty batch, forward and backward.
    x = dchain.Variable(xp.zeros((0, 4, 5, 5), numpy.float32))
    W = dchain.Variable(xp.ones((4, 6 // groups, 3, 3), numpy.float32))
    b = dchain.Variable(xp.ones(6, numpy.float32))
    y = F.deconvolution_2d(x, W, b, stride=2, groups=groups)
    assert y.shape == (0, 6, 11, 11)
    F.sum(y).backward()
    assert x.grad.shape == (0, 4, 5, 5)
    assert_allclose(W.grad, numpy.zeros(W.shape), atol=0, rtol=0)
    assert_allclose(b.grad, numpy.zeros(6), atol=0, rtol=0)
