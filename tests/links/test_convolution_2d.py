import numpy
import pytest

import dchain
import dchain.links as L
from dchain import initializers
from dchain.testing import assert_allclose, check_backward

TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-4, rtol=1e-3),
       numpy.float64: dict(atol=1e-5, rtol=1e-4)}

# (in_channels, out_channels, ksize, stride, pad, dilate, groups, input height and width)
CONFIGS = [
    (3, 4, 3, 1, 0, 1, 1, (5, 6)),
    (3, 2, (2, 3), (2, 1), (1, 0), 1, 1, (6, 5)),
    (2, 3, 3, 1, 2, 2, 1, (5, 5)),
    (4, 6, 1, 1, 0, 1, 2, (3, 4)),
    (4, 4, 3, 2, 1, 1, 4, (7, 6)),
]


def _pair(value):
    return value if isinstance(value, tuple) else (value, value)


def convolution_reference(x, W, b, stride, pad, dilate, groups):
    """Direct 2-D convolution in float64, one kernel position at a time."""
    x, W = x.astype(numpy.float64), W.astype(numpy.float64)
    (sy, sx), (ph, pw), (dy, dx) = _pair(stride), _pair(pad), _pair(dilate)
    n, _, h, w = x.shape
    out_channels, group_in, kh, kw = W.shape
    group_out = out_channels // groups
    out_h = (h + 2 * ph - dy * (kh - 1) - 1) // sy + 1
    out_w = (w + 2 * pw - dx * (kw - 1) - 1) // sx + 1
    padded = numpy.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = numpy.zeros((n, out_channels, out_h, out_w))
    for g in range(groups):
        xg = padded[:, g * group_in:(g + 1) * group_in]
        outputs = slice(g * group_out, (g + 1) * group_out)
        for i in range(kh):
            for j in range(kw):
                patch = xg[:, :, i * dy:i * dy + sy * (out_h - 1) + 1:sy,
                           j * dx:j * dx + sx * (out_w - 1) + 1:sx]
                y[:, outputs] += numpy.einsum('nchw,oc->nohw', patch, W[outputs, :, i, j])
    if b is not None:
        y += b.astype(numpy.float64)[None, :, None, None]
    return y


def _device(xp):
    return '@numpy' if xp is numpy else '@cupy:0'


def _input(xp, rng, shape, dtype):
    return xp.asarray(rng.uniform(-1, 1, shape), dtype=dtype)


def _link(config, dtype, nobias=False):
    in_channels, out_channels, ksize, stride, pad, dilate, groups, _ = config
    return L.Convolution2D(in_channels, out_channels, ksize, stride, pad, nobias=nobias,
                           initialW=initializers.Normal(0.5, dtype=dtype),
                           initial_bias=initializers.Uniform(0.5, dtype=dtype),
                           dilate=dilate, groups=groups)


@pytest.mark.parametrize('config', CONFIGS)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
@pytest.mark.parametrize('nobias', [False, True])
def test_forward_and_backward(xp, rng, config, dtype, nobias):
    in_channels, out_channels, ksize, stride, pad, dilate, groups, size = config
    link = _link(config, dtype, nobias).to_device(_device(xp))
    kh, kw = _pair(ksize)
    assert link.W.shape == (out_channels, in_channels // groups, kh, kw)
    assert link.W.dtype == dtype
    assert (link.b is None) == nobias
    x = _input(xp, rng, (2, in_channels) + size, dtype)
    y = link(x)
    assert y.dtype == dtype
    expected = convolution_reference(dchain.backend.to_cpu(x), dchain.backend.to_cpu(link.W.data),
                                     None if nobias else dchain.backend.to_cpu(link.b.data),
                                     stride, pad, dilate, groups)
    assert y.shape == expected.shape
    assert_allclose(y.data, expected, **TOL[dtype])
    gy = _input(xp, rng, y.shape, dtype)
    params = (link.W,) if nobias else (link.W, link.b)
    check_backward(link, x, gy, params=params, **TOL[dtype])


def test_short_form_and_lazy_in_channels(rng):
    link = L.Convolution2D(5, 3)  # (out_channels, ksize): in_channels is inferred
    assert link.in_channels is None and link.out_channels == 5 and link.ksize == 3
    assert link.W.data is None and link.b.shape == (5,)
    x = rng.uniform(-1, 1, (2, 4, 6, 6)).astype(numpy.float32)
    y = link(x)
    assert link.in_channels == 4 and link.W.shape == (5, 4, 3, 3)
    assert_allclose(y.data, convolution_reference(x, link.W.data, link.b.data, 1, 0, 1, 1),
                    atol=1e-4, rtol=1e-4)
    explicit = L.Convolution2D(None, 6, 2, stride=2, groups=2)
    assert explicit(x).shape == (2, 6, 3, 3)
    assert explicit.W.shape == (6, 2, 2, 2)


def test_default_initializers():
    link = L.Convolution2D(16, 32, 3)
    assert (link.b.data == 0).all() and link.b.dtype == numpy.float32
    # LeCunNormal: std sqrt(1 / fan_in) with fan_in = 16 * 3 * 3
    assert abs(link.W.data.std() * numpy.sqrt(144) - 1) < 0.1
    link = L.Convolution2D(2, 3, 1, initialW=2.0, initial_bias=numpy.arange(3.0))
    assert (link.W.data == 2).all() and (link.b.data == [0, 1, 2]).all()


def test_params_paths_and_count():
    model = dchain.Chain(conv=L.Convolution2D(3, 4, 3))
    assert sorted(p for p, _ in model.namedparams()) == ['/conv/W', '/conv/b']
    assert model.count_params() == 4 * 3 * 9 + 4


def test_bad_channels():
    with pytest.raises(ValueError, match=r'Convolution2D: out_channels \(6\) must be divisible '
                                         r'by groups \(4\)'):
        L.Convolution2D(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match=r'Convolution2D: in_channels \(3\) must be divisible '
                                         r'by groups \(2\)'):
        L.Convolution2D(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match='Convolution2D: groups must be a positive int, got 0'):
        L.Convolution2D(3, 4, 3, groups=0)
    with pytest.raises(ValueError, match='Convolution2D: out_channels must be a positive int, '
                                         'got 2.5'):
        L.Convolution2D(3, 2.5, 3)
    lazy = L.Convolution2D(4, 3, groups=2)
    with pytest.raises(ValueError, match=r'Convolution2D: in_channels \(3\) must be divisible '
                                         r'by groups \(2\)'):
        lazy(numpy.ones((1, 3, 4, 4), numpy.float32))
    with pytest.raises(ValueError, match=r'Convolution2D: x must have 4 dimensions \(N, C, H, W\)'
                                         r', got shape \(3, 4\)'):
        L.Convolution2D(4, 3)(numpy.ones((3, 4), numpy.float32))
    assert lazy.W.data is None  # a refused input leaves the link uninitialized
