import numpy
import pytest

import dchain
import dchain.functions as F
from dchain import backend
from dchain.testing import assert_allclose, check_backward, check_double_backward

TOL = {numpy.float16: dict(atol=5e-3, rtol=5e-3), numpy.float32: dict(atol=1e-5, rtol=1e-5),
       numpy.float64: dict(atol=1e-7, rtol=1e-7)}
GRAD_TOL = {numpy.float16: dict(atol=1e-1, rtol=1e-1), numpy.float32: dict(atol=1e-3, rtol=1e-2),
            numpy.float64: dict(atol=1e-6, rtol=1e-5)}

# (x shape, ksize, stride, pad, cover_all)
CASES = [
    ((2, 3, 8, 6), 2, None, 0, True),
    ((2, 3, 7, 9), 2, None, 0, True),
    ((2, 3, 7, 9), 2, None, 0, False),
    ((1, 2, 7, 7), 3, 2, 1, True),
    ((2, 2, 6, 7), (3, 2), (1, 2), (1, 0), False),
    ((1, 3, 7, 8), (2, 3), (3, 2), (0, 1), True),
    ((2, 1, 5, 5), 5, 1, 2, False),
]


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def reference_pool(x, ksize, stride, pad, cover_all, mode):
    """Max (with argmax) or mean over each window by loops over output pixels."""
    x = backend.to_cpu(x).astype(numpy.float64)
    (kh, kw), (ph, pw) = _pair(ksize), _pair(pad)
    sy, sx = _pair(ksize if stride is None else stride)
    n, c, h, w = x.shape
    extra_h, extra_w = (sy - 1, sx - 1) if cover_all else (0, 0)
    out_h = (h + 2 * ph - kh + extra_h) // sy + 1
    out_w = (w + 2 * pw - kw + extra_w) // sx + 1
    fill = -numpy.inf if mode == 'max' else 0.0
    padded = numpy.full((n, c, h + 2 * ph + sy + kh, w + 2 * pw + sx + kw), fill)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    y = numpy.zeros((n, c, out_h, out_w))
    index = numpy.zeros((n, c, out_h, out_w), numpy.int64)
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, :, i * sy:i * sy + kh, j * sx:j * sx + kw].reshape(n, c, -1)
            if mode == 'max':
                y[:, :, i, j] = window.max(axis=2)
                index[:, :, i, j] = window.argmax(axis=2)
            else:
                y[:, :, i, j] = window.sum(axis=2) / (kh * kw)
    return y, index


def _distinct(xp, rng, shape, dtype):
    # Distinct values a fixed step apart keep the argmax (and so the gradient) stable under
    # the small steps of the numerical gradient, even in float16.
    values = rng.permutation(numpy.prod(shape)).reshape(shape) / numpy.prod(shape) * 4 - 2
    return xp.asarray(values, dtype=dtype)


@pytest.mark.parametrize('x_shape,ksize,stride,pad,cover_all', CASES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_max_pooling(xp, rng, x_shape, ksize, stride, pad, cover_all, dtype):
    x = _distinct(xp, rng, x_shape, dtype)
    y, index = F.max_pooling_2d(x, ksize, stride, pad, cover_all, return_indices=True)
    expected, expected_index = reference_pool(x, ksize, stride, pad, cover_all, 'max')
    assert y.shape == expected.shape and y.dtype == dtype
    assert_allclose(y.data, expected, **TOL[dtype])
    assert index.dtype == numpy.int64
    numpy.testing.assert_array_equal(backend.to_cpu(index), expected_index)
    gy = xp.asarray(rng.uniform(-1, 1, y.shape), dtype=dtype)
    eps = 1e-3 if dtype != numpy.float16 else 1e-2
    check_backward(lambda x: F.max_pooling_2d(x, ksize, stride, pad, cover_all), x, gy, eps=eps,
                   **GRAD_TOL[dtype])


@pytest.mark.parametrize('x_shape,ksize,stride,pad,cover_all', CASES)
def test_max_pooling_double_backward(xp, rng, x_shape, ksize, stride, pad, cover_all):
    x = _distinct(xp, rng, x_shape, numpy.float64)

    def func(x):
        return F.max_pooling_2d(x, ksize, stride, pad, cover_all)
    gy = xp.asarray(rng.uniform(-1, 1, func(x).shape))
    ggx = xp.asarray(rng.uniform(-1, 1, x_shape))
    check_double_backward(func, x, gy, ggx, atol=1e-5, rtol=1e-4)


def test_max_pooling_ties_go_to_the_first_position(xp):
    # After a ReLU whole windows are zero: the gradient goes to the window's first pixel only.
    x = dchain.Variable(xp.zeros((1, 1, 4, 4), numpy.float32))
    y, index = F.max_pooling_2d(x, 2, return_indices=True)
    assert (backend.to_cpu(index) == 0).all()
    y.grad = xp.ones(y.shape, numpy.float32)
    y.backward()
    expected = numpy.zeros((4, 4), numpy.float32)
    expected[::2, ::2] = 1
    assert_allclose(x.grad[0, 0], expected)


def test_max_pooling_defaults_follow_chainer(xp):
    x = xp.arange(2 * 7 * 7, dtype=numpy.float32).reshape(1, 2, 7, 7)
    # stride defaults to ksize and cover_all to True: 7 pixels in windows of 3 give 3 outputs.
    assert F.max_pooling_2d(x, 3).shape == (1, 2, 3, 3)
    assert F.max_pooling_2d(x, 3, cover_all=False).shape == (1, 2, 2, 2)
    assert_allclose(F.max_pooling_2d(x, 3).data[0, 0, 2, 2], 48)
    # A window larger than the image still gives one output under cover_all.
    assert_allclose(F.max_pooling_2d(x[:, :, :3, :3], 5).data[0, :, 0, 0], [16, 65])


def test_max_pooling_keeps_batch_last_layout(xp, rng):
    x = _distinct(xp, rng, (3, 2, 6, 6), numpy.float64)
    x_batch_last = xp.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    expected, _ = reference_pool(x, 2, None, 0, True, 'max')
    assert_allclose(F.max_pooling_2d(x_batch_last, 2).data, expected)
    check_backward(lambda v: F.max_pooling_2d(v, 2), x_batch_last,
                   xp.asarray(rng.uniform(-1, 1, expected.shape)))


@pytest.mark.parametrize('x_shape,ksize,stride,pad,cover_all', CASES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_average_pooling(xp, rng, x_shape, ksize, stride, pad, cover_all, dtype):
    x = xp.asarray(rng.uniform(-1, 1, x_shape), dtype=dtype)
    y = F.average_pooling_2d(x, ksize, stride, pad)
    expected, _ = reference_pool(x, ksize, stride, pad, False, 'average')
    assert y.shape == expected.shape and y.dtype == dtype
    assert_allclose(y.data, expected, **TOL[dtype])
    gy = xp.asarray(rng.uniform(-1, 1, y.shape), dtype=dtype)
    check_backward(lambda x: F.average_pooling_2d(x, ksize, stride, pad), x, gy,
                   **GRAD_TOL[dtype])


@pytest.mark.parametrize('x_shape,ksize,stride,pad,cover_all', CASES)
def test_average_pooling_double_backward(xp, rng, x_shape, ksize, stride, pad, cover_all):
    x = xp.asarray(rng.uniform(-1, 1, x_shape))

    def func(x):
        return F.average_pooling_2d(x, ksize, stride, pad)
    gy = xp.asarray(rng.uniform(-1, 1, func(x).shape))
    check_double_backward(func, x, gy, xp.asarray(rng.uniform(-1, 1, x_shape)))


def test_average_pooling_counts_padding(xp):
    x = xp.ones((1, 1, 2, 2), numpy.float32)
    # Each 2x2 window at the corner holds one real pixel and three padded zeros.
    y = F.average_pooling_2d(x, 2, stride=2, pad=1)
    assert_allclose(y.data, numpy.full((1, 1, 2, 2), 0.25))


@pytest.mark.parametrize('func', [F.max_pooling_2d, F.average_pooling_2d])
def test_bad_inputs(xp, func):
    name = func.__name__
    with pytest.raises(ValueError, match=r'{}: x must be a 4-D array \(N, C, H, W\), got shape '
                                         r'\(2, 4, 4\)'.format(name)):
        func(xp.ones((2, 4, 4), numpy.float32), 2)
    with pytest.raises(TypeError, match='{}: x must be a float array, got int32'.format(name)):
        func(xp.ones((1, 1, 4, 4), numpy.int32), 2)
    # (cover_all, max pooling's default, lets one window overhang a small image.)
    extra = dict(cover_all=False) if func is F.max_pooling_2d else {}
    with pytest.raises(ValueError, match=r'{}: the window \(5, 5\) does not fit x of shape '
                                         r'\(1, 1, 3, 3\) padded by \(0, 0\)'.format(name)):
        func(xp.ones((1, 1, 3, 3), numpy.float32), 5, **extra)
    with pytest.raises(ValueError, match='{}: ksize must be at least 1, got 0'.format(name)):
        func(xp.ones((1, 1, 3, 3), numpy.float32), 0)
    with pytest.raises(TypeError, match='{}: stride must be an int or a pair'.format(name)):
        func(xp.ones((1, 1, 3, 3), numpy.float32), 2, stride=1.5)
