import numpy
import pytest

import dchain
import dchain.functions as F
from dchain.testing import assert_allclose, check_backward


@pytest.mark.parametrize('nobias', [False, True])
def test_linear_matches_numpy(xp, rng, nobias):
    x = xp.asarray(rng.uniform(-1, 1, (4, 3)))
    W = xp.asarray(rng.uniform(-1, 1, (5, 3)))
    b = None if nobias else xp.asarray(rng.uniform(-1, 1, 5))
    y = F.linear(x, W, b)
    expected = dchain.backend.to_cpu(x) @ dchain.backend.to_cpu(W).T
    if b is not None:
        expected = expected + dchain.backend.to_cpu(b)
    assert_allclose(y.data, expected, atol=1e-12, rtol=1e-12)
    gy = xp.asarray(rng.uniform(-1, 1, (4, 5)))
    inputs = (x, W) if nobias else (x, W, b)
    check_backward(F.linear, inputs, gy)


def test_linear_mixed_precision(xp, rng):
    # Chainer's mixed16: float16 x with float32 W computes in float32 and returns float16;
    # the gradients take the dtype of what they belong to.
    x = dchain.Variable(xp.asarray(rng.uniform(-1, 1, (4, 3)), numpy.float16))
    W = dchain.Variable(xp.asarray(rng.uniform(-1, 1, (5, 3)), numpy.float32))
    b = dchain.Variable(xp.asarray(rng.uniform(-1, 1, 5), numpy.float16))
    y = F.linear(x, W, b)
    assert y.dtype == numpy.float16
    x64, W64 = [dchain.backend.to_cpu(v.data).astype(numpy.float64) for v in (x, W)]
    expected = x64 @ W64.T + dchain.backend.to_cpu(b.data)
    assert_allclose(y.data, expected, atol=5e-3, rtol=5e-3)
    gy = rng.uniform(-1, 1, (4, 5)).astype(numpy.float16)
    y.grad = xp.asarray(gy)
    y.backward()
    assert (x.grad.dtype, W.grad.dtype, b.grad.dtype) == (numpy.float16, numpy.float32,
                                                          numpy.float16)
    gy64 = gy.astype(numpy.float64)
    assert_allclose(x.grad, gy64 @ W64, atol=5e-3, rtol=5e-3)
    assert_allclose(W.grad, gy64.T @ x64, atol=1e-5, rtol=1e-5)


def test_linear_errors(xp):
    with pytest.raises(TypeError, match='linear: x and W must be float arrays, got int32 and '
                                        'float32'):
        F.linear(xp.ones((2, 3), numpy.int32), xp.ones((4, 3), numpy.float32))
    with pytest.raises(ValueError, match=r'linear: b must have shape \(4,\) and dtype float16'):
        F.linear(xp.ones((2, 3), numpy.float16), xp.ones((4, 3), numpy.float32),
                 xp.ones(4, numpy.float32))
