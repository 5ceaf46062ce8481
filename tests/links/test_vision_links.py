"""ConvolutionND (1D, 3D), MLPConvolution2D, Inception and InceptionBN against NumPy."""
import itertools

import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain.testing import assert_allclose, check_backward


def conv(x, W, b=None, stride=1, pad=0):
    """N-d convolution in float64 with loops over the kernel taps."""
    d = x.ndim - 2
    stride = (stride,) * d if isinstance(stride, int) else stride
    pad = (pad,) * d if isinstance(pad, int) else pad
    x = numpy.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    out = [(size - k) // s + 1 for size, k, s in zip(x.shape[2:], W.shape[2:], stride)]
    y = numpy.zeros((x.shape[0], W.shape[0]) + tuple(out))
    for tap in itertools.product(*[range(k) for k in W.shape[2:]]):
        index = tuple(slice(t, t + s * (o - 1) + 1, s) for t, s, o in zip(tap, stride, out))
        y += numpy.einsum('nc...,oc->no...', x[(slice(None), slice(None)) + index],
                          W[(slice(None), slice(None)) + tap])
    if b is not None:
        y += b.reshape((1, -1) + (1,) * d)
    return y


def pool(x, stride, kind):
    """3x3 pooling with padding 1: max (padding never wins) or average (padding counts 0)."""
    fill = -numpy.inf if kind == 'max' else 0.0
    x = numpy.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)], constant_values=fill)
    out = [(size - 3) // stride + 1 for size in x.shape[2:]]
    windows = [x[:, :, i:i + stride * (out[0] - 1) + 1:stride,
                 j:j + stride * (out[1] - 1) + 1:stride] for i in range(3) for j in range(3)]
    return numpy.max(windows, axis=0) if kind == 'max' else numpy.sum(windows, axis=0) / 9


def relu(x):
    return numpy.maximum(x, 0)


def batch_norm(x, bn):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    shape = (1, -1, 1, 1)
    return ((x - mean) / numpy.sqrt(var + bn.eps) * _array(bn.gamma).reshape(shape)
            + _array(bn.beta).reshape(shape))


def _array(param):
    return dchain.backend.to_cpu(param.data).astype(numpy.float64)


def _float64(link, rng):
    """Random float64 parameters (the initializers draw float32)."""
    for param in link.params():
        param.data = rng.uniform(-0.5, 0.5, param.shape)
    return link


def _check_link_backward(link, x, rng):
    params = tuple(link.params())
    gy = rng.uniform(-1, 1, link(x).shape)
    # A small step: relu and max pooling have kinks that a step of 1e-3 would cross.
    check_backward(link, x, gy, params=params, eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize('ndim,x_shape,ksize,stride,pad', [
    (1, (2, 3, 7), 3, 2, 1), (2, (2, 3, 5, 4), (2, 3), 1, (1, 0)),
    (3, (1, 2, 4, 5, 3), (2, 2, 3), (1, 2, 1), 1)])
def test_convolution_nd_link(rng, ndim, x_shape, ksize, stride, pad):
    link = _float64(L.ConvolutionND(ndim, x_shape[1], 4, ksize, stride, pad), rng)
    assert link.W.shape == (4, x_shape[1]) + ((ksize,) * ndim if isinstance(ksize, int)
                                              else ksize)
    x = rng.uniform(-1, 1, x_shape)
    assert_allclose(link(x).data, conv(x, _array(link.W), _array(link.b), stride, pad),
                    atol=1e-12, rtol=1e-12)
    _check_link_backward(link, x, rng)


def test_convolution_1d_and_3d_links():
    link = L.Convolution1D(5, 3, stride=2)  # in_channels inferred, as Chainer's short form
    assert link.W.data is None
    y = link(numpy.ones((2, 4, 9), numpy.float32))
    assert y.shape == (2, 5, 4) and link.W.shape == (5, 4, 3) and link.in_channels == 4
    link3 = L.Convolution3D(2, 3, 2, nobias=True, cover_all=True, stride=2)
    assert link3.b is None
    assert link3(numpy.ones((1, 2, 5, 5, 5), numpy.float32)).shape == (1, 3, 3, 3, 3)
    # Sizes computed with NumPy work as Python ints do
    sized = L.ConvolutionND(numpy.int64(2), 3, 4, numpy.int32(3), stride=numpy.int64(2))
    assert sized(numpy.ones((1, 3, 7, 7), numpy.float32)).shape == (1, 4, 3, 3)
    with pytest.raises(ValueError, match=r'Convolution1D: x must have 3 dimensions'):
        L.Convolution1D(5, 3)(numpy.ones((2, 4, 9, 9), numpy.float32))
    with pytest.raises(ValueError, match='ConvolutionND: ndim must be a positive int, got 0'):
        L.ConvolutionND(0, 2, 3, 2)
    with pytest.raises(ValueError, match=r'Convolution3D: out_channels \(3\) must be divisible '
                                         r'by groups \(2\)'):
        L.Convolution3D(2, 3, 2, groups=2)


def test_mlp_convolution_2d(rng):
    link = _float64(L.MLPConvolution2D(3, (4, 5, 2), 3, stride=2, pad=1), rng)
    assert len(link) == 3 and link[1].W.shape == (5, 4, 1, 1)
    x = rng.uniform(-1, 1, (2, 3, 7, 6))
    h = relu(conv(x, _array(link[0].W), _array(link[0].b), 2, 1))
    h = relu(conv(h, _array(link[1].W), _array(link[1].b)))
    expected = conv(h, _array(link[2].W), _array(link[2].b))  # no activation after the last
    assert_allclose(link(x).data, expected, atol=1e-12, rtol=1e-12)
    _check_link_backward(link, x, rng)
    short = L.MLPConvolution2D((4, 2), 3, activation=F.tanh)
    assert short(numpy.ones((1, 3, 5, 5), numpy.float32)).shape == (1, 2, 3, 3)
    with pytest.raises(ValueError, match='MLPConvolution2D: out_channels must be a non-empty '
                                         'tuple of ints, got 4'):
        L.MLPConvolution2D(3, 4, 3)


def test_inception(rng):
    link = _float64(L.Inception(3, 2, 3, 4, 2, 3, 2), rng)
    x = rng.uniform(-1, 1, (2, 3, 6, 5))
    y = link(x)
    assert y.shape == (2, 2 + 4 + 3 + 2, 6, 5)

    def c(name, h, pad=0):
        layer = getattr(link, name)
        return conv(h, _array(layer.W), _array(layer.b), 1, pad)
    expected = relu(numpy.concatenate([
        c('conv1', x), c('conv3', relu(c('proj3', x)), 1), c('conv5', relu(c('proj5', x)), 2),
        c('projp', pool(x, 1, 'max'))], axis=1))
    assert_allclose(y.data, expected, atol=1e-12, rtol=1e-12)
    _check_link_backward(link, x, rng)


@pytest.mark.parametrize('out1,pooltype,proj_pool,stride', [
    (2, 'max', 3, 1), (0, 'avg', None, 2), (0, 'max', 2, 2)])
def test_inception_bn(rng, out1, pooltype, proj_pool, stride):
    link = _float64(L.InceptionBN(3, out1, 2, 3, 2, 4, pooltype, proj_pool, stride,
                                  dtype=numpy.float64), rng)
    x = rng.uniform(-1, 1, (4, 3, 6, 5))
    y = link(x)

    def unit(conv_name, bn_name, h, stride=1, pad=0):
        layer = getattr(link, conv_name)
        return relu(batch_norm(conv(h, _array(layer.W), None, stride, pad),
                               getattr(link, bn_name)))
    outs = [unit('conv1', 'conv1n', x)] if out1 else []
    outs.append(unit('conv3', 'conv3n', unit('proj3', 'proj3n', x), stride, 1))
    h = unit('conv33a', 'conv33an', unit('proj33', 'proj33n', x), 1, 1)
    outs.append(unit('conv33b', 'conv33bn', h, stride, 1))
    pooled = pool(x, stride, pooltype)
    outs.append(unit('poolp', 'poolpn', pooled) if proj_pool else pooled)
    expected = numpy.concatenate(outs, axis=1)
    assert y.shape == expected.shape
    assert_allclose(y.data, expected, atol=1e-10, rtol=1e-10)
    _check_link_backward(link, x, rng)


def test_inception_bn_errors():
    with pytest.raises(ValueError, match="InceptionBN: pooltype must be 'max' or 'avg', got "
                                         "'min'"):
        L.InceptionBN(3, 2, 2, 3, 2, 4, 'min', 2)
    with pytest.raises(ValueError, match='InceptionBN: the 1x1 path'):
        L.InceptionBN(3, 2, 2, 3, 2, 4, 'max', 2, stride=2)
