import numpy
import pytest

import dchain
import dchain.links as L
from dchain import initializers
from dchain.testing import assert_allclose, check_backward

TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-4, rtol=1e-3),
       numpy.float64: dict(atol=1e-5, rtol=1e-4)}

# (in_channels, out_channels, ksize, stride, pad, outsize, dilate, groups, input height and width)
CONFIGS = [
    (3, 4, 3, 1, 0, None, 1, 1, (4, 5)),
    (2, 3, (2, 3), (2, 1), (1, 0), None, 1, 1, (4, 3)),
    (2, 2, 3, 2, 1, (6, 6), 1, 1, (3, 3)),
    (3, 2, 2, 1, 1, None, 2, 1, (4, 4)),
    (4, 6, 3, 2, 0, None, 1, 2, (3, 3)),
]


def _pair(value):
    return value if isinstance(value, tuple) else (value, value)


def deconvolution_reference(x, W, b, stride, pad, outsize, dilate, groups):
    """Transposed convolution in float64: every input pixel scatters a weighted kernel."""
    x, W = x.astype(numpy.float64), W.astype(numpy.float64)
    (sy, sx), (ph, pw), (dy, dx) = _pair(stride), _pair(pad), _pair(dilate)
    n, in_channels, h, w = x.shape
    _, group_out, kh, kw = W.shape
    group_in = in_channels // groups
    full_h = sy * (h - 1) + dy * (kh - 1) + 1
    full_w = sx * (w - 1) + dx * (kw - 1) + 1
    out_h, out_w = (full_h - 2 * ph, full_w - 2 * pw) if outsize is None else outsize
    buffer = numpy.zeros((n, group_out * groups, max(full_h, out_h + 2 * ph),
                          max(full_w, out_w + 2 * pw)))
    for g in range(groups):
        xg = x[:, g * group_in:(g + 1) * group_in]
        outputs = slice(g * group_out, (g + 1) * group_out)
        for i in range(kh):
            for j in range(kw):
                buffer[:, outputs, i * dy:i * dy + sy * (h - 1) + 1:sy,
                       j * dx:j * dx + sx * (w - 1) + 1:sx] += numpy.einsum(
                           'nchw,co->nohw', xg, W[g * group_in:(g + 1) * group_in, :, i, j])
    y = buffer[:, :, ph:ph + out_h, pw:pw + out_w]
    if b is not None:
        y = y + b.astype(numpy.float64)[None, :, None, None]
    return y


def _device(xp):
    return '@numpy' if xp is numpy else '@cupy:0'


def _input(xp, rng, shape, dtype):
    return xp.asarray(rng.uniform(-1, 1, shape), dtype=dtype)


@pytest.mark.parametrize('config', CONFIGS)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
@pytest.mark.parametrize('nobias', [False, True])
def test_forward_and_backward(xp, rng, config, dtype, nobias):
    in_channels, out_channels, ksize, stride, pad, outsize, dilate, groups, size = config
    link = L.Deconvolution2D(in_channels, out_channels, ksize, stride, pad, nobias=nobias,
                             outsize=outsize, initialW=initializers.Normal(0.5, dtype=dtype),
                             initial_bias=initializers.Uniform(0.5, dtype=dtype),
                             dilate=dilate, groups=groups).to_device(_device(xp))
    kh, kw = _pair(ksize)
    assert link.W.shape == (in_channels, out_channels // groups, kh, kw)
    assert (link.b is None) == nobias
    x = _input(xp, rng, (2, in_channels) + size, dtype)
    y = link(x)
    assert y.dtype == dtype
    to_cpu = dchain.backend.to_cpu
    expected = deconvolution_reference(to_cpu(x), to_cpu(link.W.data),
                                       None if nobias else to_cpu(link.b.data), stride, pad,
                                       outsize, dilate, groups)
    assert y.shape == expected.shape
    if outsize is not None:
        assert y.shape[2:] == outsize
    assert_allclose(y.data, expected, **TOL[dtype])
    gy = _input(xp, rng, y.shape, dtype)
    params = (link.W,) if nobias else (link.W, link.b)
    check_backward(link, x, gy, params=params, **TOL[dtype])


def test_short_form_and_lazy_in_channels(rng):
    link = L.Deconvolution2D(5, 2, stride=2)  # (out_channels, ksize)
    assert link.in_channels is None and link.W.data is None and link.b.shape == (5,)
    x = rng.uniform(-1, 1, (2, 3, 4, 4)).astype(numpy.float32)
    y = link(x)
    assert link.in_channels == 3 and link.W.shape == (3, 5, 2, 2)
    assert y.shape == (2, 5, 8, 8)
    assert_allclose(y.data, deconvolution_reference(x, link.W.data, link.b.data, 2, 0, None, 1,
                                                    1), atol=1e-4, rtol=1e-4)
    assert link.outsize is None and link.stride == (2, 2)


def test_outsize_is_kept():
    link = L.Deconvolution2D(2, 2, 3, stride=2, pad=1, outsize=(6, 6))
    assert link.outsize == (6, 6)
    assert link(numpy.ones((1, 2, 3, 3), numpy.float32)).shape == (1, 2, 6, 6)


def test_bad_channels():
    with pytest.raises(ValueError, match=r'Deconvolution2D: out_channels \(3\) must be divisible'
                                         r' by groups \(2\)'):
        L.Deconvolution2D(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match=r'Deconvolution2D: in_channels \(5\) must be divisible '
                                         r'by groups \(2\)'):
        L.Deconvolution2D(5, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r'Deconvolution2D: x must have 4 dimensions'):
        L.Deconvolution2D(2, 3)(numpy.ones((2, 3, 4), numpy.float32))
