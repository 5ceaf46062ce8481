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

# (x shape, W shape, stride, pad, dilate, groups, cover_all)
CASES = [
    ((2, 3, 6, 5), (4, 3, 3, 3), 1, 0, 1, 1, False),
    ((2, 3, 7, 8), (4, 3, 3, 2), (2, 1), (1, 2), 1, 1, False),
    ((1, 2, 7, 7), (3, 2, 2, 2), 2, 0, 1, 1, True),
    ((2, 4, 9, 8), (6, 2, 3, 2), (2, 2), (1, 0), (2, 1), 2, True),
    ((2, 6, 8, 9), (6, 2, 2, 3), (3, 2), (0, 1), (1, 2), 3, False),
    ((3, 1, 5, 5), (2, 1, 5, 5), 1, 0, 1, 1, False),
    ((1, 2, 4, 6), (2, 2, 1, 1), 1, 1, 1, 1, False),
]


def reference_conv(x, W, b, stride, pad, dilate, groups, cover_all):
    """Convolution by loops over output pixels, in float64."""
    x, W = backend.to_cpu(x).astype(numpy.float64), backend.to_cpu(W).astype(numpy.float64)
    (sy, sx), (ph, pw), (dy, dx) = [v if isinstance(v, tuple) else (v, v)
                                    for v in (stride, pad, dilate)]
    n, c, h, w = x.shape
    out_c, group_c, kh, kw = W.shape
    ekh, ekw = (kh - 1) * dy + 1, (kw - 1) * dx + 1
    extra_h, extra_w = (sy - 1, sx - 1) if cover_all else (0, 0)
    out_h = (h + 2 * ph - ekh + extra_h) // sy + 1
    out_w = (w + 2 * pw - ekw + extra_w) // sx + 1
    padded = numpy.zeros((n, c, h + 2 * ph + sy, w + 2 * pw + sx))
    padded[:, :, ph:ph + h, pw:pw + w] = x
    y = numpy.zeros((n, out_c, out_h, out_w))
    per_group = out_c // groups
    for o in range(out_c):
        g = o // per_group
        for i in range(out_h):
            for j in range(out_w):
                patch = padded[:, g * group_c:(g + 1) * group_c, i * sy:i * sy + ekh:dy,
                               j * sx:j * sx + ekw:dx]
                y[:, o, i, j] = (patch * W[o]).sum(axis=(1, 2, 3))
    if b is not None:
        y += backend.to_cpu(b)[None, :, None, None]
    return y


def _arrays(xp, rng, shapes, dtype):
    return [xp.asarray(rng.uniform(-1, 1, shape), dtype=dtype) for shape in shapes]


@pytest.mark.parametrize('x_shape,w_shape,stride,pad,dilate,groups,cover_all', CASES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
@pytest.mark.parametrize('nobias', [False, True])
def test_forward_matches_loops(xp, rng, x_shape, w_shape, stride, pad, dilate, groups, cover_all,
                               dtype, nobias):
    x, W, b = _arrays(xp, rng, [x_shape, w_shape, (w_shape[0],)], dtype)
    b = None if nobias else b
    y = F.convolution_2d(x, W, b, stride, pad, cover_all, dilate=dilate, groups=groups)
    expected = reference_conv(x, W, b, stride, pad, dilate, groups, cover_all)
    assert y.shape == expected.shape
    assert y.dtype == dtype
    assert_allclose(y.data, expected, **TOL[dtype])


@pytest.mark.parametrize('x_shape,w_shape,stride,pad,dilate,groups,cover_all', CASES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_backward(xp, rng, x_shape, w_shape, stride, pad, dilate, groups, cover_all, dtype):
    x, W, b = _arrays(xp, rng, [x_shape, w_shape, (w_shape[0],)], dtype)

    def func(x, W, b):
        return F.convolution_2d(x, W, b, stride, pad, cover_all, dilate=dilate, groups=groups)
    gy = xp.asarray(rng.uniform(-1, 1, func(x, W, b).shape), dtype=dtype)
    check_backward(func, (x, W, b), gy, **GRAD_TOL[dtype])


@pytest.mark.parametrize('x_shape,w_shape,stride,pad,dilate,groups,cover_all', CASES[:5])
def test_double_backward(xp, rng, x_shape, w_shape, stride, pad, dilate, groups, cover_all):
    x, W, b = _arrays(xp, rng, [x_shape, w_shape, (w_shape[0],)], numpy.float64)

    def func(x, W, b):
        return F.convolution_2d(x, W, b, stride, pad, cover_all, dilate=dilate, groups=groups)
    gy = xp.asarray(rng.uniform(-1, 1, func(x, W, b).shape))
    ggx, ggW, ggb = _arrays(xp, rng, [x_shape, w_shape, (w_shape[0],)], numpy.float64)
    check_double_backward(func, (x, W, b), gy, (ggx, ggW, ggb), atol=1e-5, rtol=1e-4)


def test_input_layout_does_not_change_results(xp, rng):
    x, W = _arrays(xp, rng, [(3, 2, 6, 7), (4, 2, 3, 3)], numpy.float64)
    # The same values held batch-last, as a previous convolution leaves them.
    x_batch_last = xp.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    y = F.convolution_2d(x, W, pad=1)
    assert_allclose(F.convolution_2d(x_batch_last, W, pad=1).data, y.data)
    assert_allclose(y.data, reference_conv(x, W, None, 1, 1, 1, 1, False))


def test_gradients_accumulate_into_leaves(xp, rng):
    x, W = _arrays(xp, rng, [(2, 3, 5, 5), (4, 3, 3, 3)], numpy.float64)
    xv, Wv = dchain.Variable(x), dchain.Variable(W)
    y = F.convolution_2d(xv, Wv)
    F.sum(y * y).backward()
    # d/dW of sum(y^2) is 2 * correlation of x with y.
    y_host = backend.to_cpu(y.data)
    x_host = backend.to_cpu(x)
    expected = numpy.zeros(W.shape)
    for i in range(3):
        for j in range(3):
            expected[:, :, i, j] = 2 * numpy.einsum('nohw,nchw->oc', y_host,
                                                    x_host[:, :, i:i + 3, j:j + 3])
    assert_allclose(Wv.grad, expected)
    assert xv.grad.shape == x.shape


def test_channel_mismatch_names_both_shapes(xp):
    x = xp.ones((2, 3, 5, 5), numpy.float32)
    W = xp.ones((4, 2, 3, 3), numpy.float32)
    with pytest.raises(ValueError, match=r'convolution_2d: x of shape \(2, 3, 5, 5\) has 3 '
                                         r'channels but W of shape \(4, 2, 3, 3\) expects 2'):
        F.convolution_2d(x, W)


def test_groups_must_divide_channels(xp):
    x = xp.ones((1, 4, 5, 5), numpy.float32)
    with pytest.raises(ValueError, match='convolution_2d: W of shape .* has 3 output channels, '
                                         'not a multiple of groups=2'):
        F.convolution_2d(x, xp.ones((3, 2, 3, 3), numpy.float32), groups=2)


def test_three_dimensional_x_is_refused(xp):
    with pytest.raises(ValueError, match=r'convolution_2d: x must be a 4-D array \(N, C, H, W\), '
                                         r'got shape \(3, 5, 5\)'):
        F.convolution_2d(xp.ones((3, 5, 5), numpy.float32), xp.ones((2, 3, 3, 3), numpy.float32))


def test_kernel_bigger_than_padded_input(xp):
    x = xp.ones((1, 1, 4, 4), numpy.float32)
    with pytest.raises(ValueError, match=r'convolution_2d: the kernel \(7, 7\) .* does not fit x '
                                         r'of shape \(1, 1, 4, 4\) padded by \(1, 1\)'):
        F.convolution_2d(x, xp.ones((1, 1, 7, 7), numpy.float32), pad=1)
    with pytest.raises(ValueError, match='does not fit'):
        F.convolution_2d(x, xp.ones((1, 1, 3, 3), numpy.float32), dilate=2)


def test_dtypes_must_match(xp):
    x = xp.ones((1, 1, 4, 4), numpy.float32)
    with pytest.raises(TypeError, match='convolution_2d: x and W must be float arrays of the same '
                                        'dtype, got float32 and float64'):
        F.convolution_2d(x, xp.ones((1, 1, 3, 3), numpy.float64))
    with pytest.raises(TypeError, match='convolution_2d: x and W must be float arrays'):
        F.convolution_2d(xp.ones((1, 1, 4, 4), numpy.int32), xp.ones((1, 1, 3, 3), numpy.int32))
    with pytest.raises(TypeError, match='convolution_2d: b must have the dtype of x'):
        F.convolution_2d(x, xp.ones((1, 1, 3, 3), numpy.float32), xp.ones(1, numpy.float64))


def test_bias_shape(xp):
    x = xp.ones((1, 1, 4, 4), numpy.float32)
    with pytest.raises(ValueError, match=r'convolution_2d: b must have shape \(2,\)'):
        F.convolution_2d(x, xp.ones((2, 1, 3, 3), numpy.float32), xp.ones(3, numpy.float32))


@pytest.mark.parametrize('kwargs,error,message', [
    (dict(stride=0), ValueError, 'convolution_2d: stride must be at least 1, got 0'),
    (dict(pad=-1), ValueError, 'convolution_2d: pad must be at least 0, got -1'),
    (dict(stride=(1, 2, 3)), TypeError, 'convolution_2d: stride must be an int or a pair'),
    (dict(dilate=1.5), TypeError, 'convolution_2d: dilate must be an int or a pair'),
    (dict(groups=0), ValueError, 'convolution_2d: groups must be at least 1, got 0'),
])
def test_bad_arguments(xp, kwargs, error, message):
    x = xp.ones((1, 1, 4, 4), numpy.float32)
    with pytest.raises(error, match=message):
        F.convolution_2d(x, xp.ones((1, 1, 3, 3), numpy.float32), **kwargs)


def test_stacked_layers_share_no_state(xp, rng):
    # Layers of different sizes one after another, as in a network; the gradients of the whole
    # stack must still be right, and a second backward over the same graph gives the same ones.
    x, W1, W2, W3 = _arrays(xp, rng, [(2, 2, 9, 9), (3, 2, 3, 3), (4, 3, 2, 2), (4, 2, 2, 2)],
                            numpy.float64)

    def func(x, W1, W2, W3):
        h = F.convolution_2d(x, W1, pad=1)
        h = F.max_pooling_2d(F.convolution_2d(h, W2, stride=2), 2)
        return F.deconvolution_2d(h, W3, stride=2)
    y = func(x, W1, W2, W3)
    gy = xp.asarray(rng.uniform(-1, 1, y.shape))
    check_backward(func, (x, W1, W2, W3), gy)
    variables = [dchain.Variable(a) for a in (x, W1, W2, W3)]
    y = func(*variables)
    y.grad = gy
    y.backward()
    first = [backend.to_cpu(v.grad).copy() for v in variables]
    for v in variables:
        v.cleargrad()
    y.grad = gy
    y.backward()
    for v, g in zip(variables, first):
        assert_allclose(v.grad, g)


@pytest.mark.parametrize('groups', [1, 2])
def test_empty_batch(xp, groups):
    # Chainer computes on an empty batch: an empty output, a zero weight gradient.
    x = dchain.Variable(xp.zeros((0, 4, 5, 5), numpy.float32))
    W = dchain.Variable(xp.ones((6, 4 // groups, 3, 3), numpy.float32))
    b = dchain.Variable(xp.ones(6, numpy.float32))
    y = F.convolution_2d(x, W, b, pad=1, groups=groups)
    assert y.shape == (0, 6, 5, 5)
    F.sum(y).backward()
    assert x.grad.shape == (0, 4, 5, 5)
    assert_allclose(W.grad, numpy.zeros(W.shape), atol=0, rtol=0)
    assert_allclose(b.grad, numpy.zeros(6), atol=0, rtol=0)
