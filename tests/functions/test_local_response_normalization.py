import numpy
import pytest

import dchain.functions as F
from dchain.testing import assert_allclose, check_backward, check_double_backward


def _reference(x, n, k, alpha, beta):
    x = numpy.asarray(x, numpy.float64)
    half = n // 2
    channels = x.shape[1]
    y = numpy.empty_like(x)
    for c in range(channels):
        window = x[:, max(0, c - half):min(channels, c + half + 1)]
        y[:, c] = x[:, c] / (k + alpha * (window ** 2).sum(axis=1)) ** beta
    return y


PARAMS = [dict(), dict(n=3, k=1.0, alpha=0.5, beta=0.6), dict(n=1, k=2, alpha=0.3, beta=1),
          dict(n=4, k=1.5, alpha=0.2, beta=0.75), dict(n=9, k=1, alpha=0.1, beta=0.5)]


@pytest.mark.parametrize('params', PARAMS)
@pytest.mark.parametrize('shape', [(2, 7, 3, 3), (3, 5), (2, 6, 4)])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_forward_matches_numpy(xp, rng, params, shape, dtype):
    x = rng.uniform(-3, 3, shape)
    y = F.local_response_normalization(xp.asarray(x, dtype), **params)
    assert y.dtype == dtype and y.shape == shape
    expected = _reference(x.astype(dtype), **{**dict(n=5, k=2, alpha=1e-4, beta=0.75),
                                              **params})
    tol = {numpy.float16: 5e-3, numpy.float32: 1e-6, numpy.float64: 1e-12}[dtype]
    assert_allclose(y.data, expected, atol=tol, rtol=tol)


@pytest.mark.parametrize('params', PARAMS[1:])
def test_backward(xp, rng, params):
    x = xp.asarray(rng.uniform(-2, 2, (2, 6, 3, 2)))
    gy = xp.asarray(rng.uniform(-1, 1, x.shape))
    check_backward(lambda v: F.local_response_normalization(v, **params), x, gy)
    check_double_backward(lambda v: F.local_response_normalization(v, **params), x, gy,
                          xp.asarray(rng.uniform(-1, 1, x.shape)))


def test_errors(xp):
    with pytest.raises(TypeError, match='local_response_normalization: x must be a float array, '
                                        'got int32'):
        F.local_response_normalization(xp.ones((2, 3), numpy.int32))
    with pytest.raises(ValueError, match=r'local_response_normalization: x must have shape '
                                         r'\(N, C, ...\), got \(3,\)'):
        F.local_response_normalization(xp.ones(3, numpy.float32))
    with pytest.raises(ValueError, match='local_response_normalization: n must be a positive '
                                         'int, got 0'):
        F.local_response_normalization(xp.ones((2, 3), numpy.float32), n=0)
    with pytest.raises(TypeError, match='local_response_normalization: beta must be a real '
                                        'number, got str'):
        F.local_response_normalization(xp.ones((2, 3), numpy.float32), beta='0.75')
