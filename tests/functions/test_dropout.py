import numpy
import pytest

import dchain
import dchain.functions as F
from dchain import using_config
from dchain.testing import assert_allclose, check_backward, check_double_backward


def _cpu(x):
    return dchain.backend.to_cpu(x.data if isinstance(x, dchain.Variable) else x)


def _seed(xp, value):
    if xp is numpy:
        dchain.random.seed(value)
    else:
        xp.random.seed(value)


@pytest.mark.parametrize('ratio', [0.1, 0.5, 0.8])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_drops_and_scales(xp, rng, ratio, dtype):
    x = xp.asarray(rng.uniform(1, 2, (200, 50)), dtype=dtype)
    y, mask = F.dropout(x, ratio, return_mask=True)
    assert y.dtype == dtype and y.shape == x.shape and mask.dtype == dtype
    y_host, x_host, mask_host = _cpu(y), _cpu(x), _cpu(mask)
    kept = y_host != 0
    scale = 1 / (1 - ratio)
    assert set(numpy.unique(mask_host).tolist()) <= {0.0, float(dtype(scale))}
    assert_allclose(y_host[kept], x_host[kept].astype(numpy.float64) * scale, atol=1e-2,
                    rtol=1e-3)
    assert (kept == (mask_host != 0)).all()
    # 10000 draws: the dropped fraction is within 4 standard deviations of the ratio.
    assert abs((~kept).mean() - ratio) < 4 * numpy.sqrt(ratio * (1 - ratio) / kept.size)


def test_zero_ratio_keeps_everything(xp, rng):
    x = xp.asarray(rng.normal(size=(4, 6)), numpy.float32)
    assert_allclose(F.dropout(x, 0.0).data, x, atol=0, rtol=0)


def test_test_mode_is_the_identity(xp, rng):
    x = dchain.Variable(xp.asarray(rng.normal(size=(3, 5)), numpy.float32))
    with using_config('train', False):
        assert F.dropout(x) is x
        y, mask = F.dropout(x.data, 0.3, return_mask=True)
    assert isinstance(y, dchain.Variable) and y.data is x.data and mask is None


def test_seed_repeats_masks(xp):
    x = xp.ones((10, 20), numpy.float32)
    _seed(xp, 7)
    first = _cpu(F.dropout(x).data)
    second = _cpu(F.dropout(x).data)
    _seed(xp, 7)
    again = _cpu(F.dropout(x).data)
    assert (first == again).all()
    assert (first != second).any()  # a fresh mask each call


def test_given_mask_is_used(xp, rng):
    x = xp.asarray(rng.normal(size=(4, 3)), numpy.float64)
    mask = xp.asarray(rng.integers(0, 2, (4, 3)) * 2.0)
    y, returned = F.dropout(x, 0.9, mask=mask, return_mask=True)
    assert returned is mask
    assert_allclose(y.data, _cpu(x) * _cpu(mask), atol=0, rtol=0)


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_backward(xp, rng, dtype):
    x = xp.asarray(rng.normal(size=(5, 4)), dtype)
    _, mask = F.dropout(x, 0.4, return_mask=True)
    gy = xp.asarray(rng.normal(size=(5, 4)), dtype)
    x_var = dchain.Variable(x)
    y = F.dropout(x_var, mask=mask)
    y.grad = gy
    y.backward()
    assert_allclose(x_var.grad, _cpu(gy) * _cpu(mask), atol=0, rtol=0)
    # The numerical checks evaluate in float64, so the mask must be float64 too.
    mask64, x64, gy64 = [a.astype(numpy.float64) for a in (mask, x, gy)]
    check_backward(lambda v: F.dropout(v, mask=mask64), x64, gy64)
    check_double_backward(lambda v: F.dropout(v, mask=mask64) * v, x64, gy64,
                          xp.asarray(rng.normal(size=(5, 4))))


def test_errors(xp):
    x = xp.ones((2, 3), numpy.float32)
    for ratio in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r'dropout: ratio must be in \[0, 1\), got '
                                             + str(ratio)):
            F.dropout(x, ratio)
    with pytest.raises(TypeError, match='dropout: ratio must be a float, got str'):
        F.dropout(x, '0.5')
    with pytest.raises(TypeError, match='dropout: x must be a float array, got int32'):
        F.dropout(xp.ones((2, 3), numpy.int32))
    with pytest.raises(ValueError, match=r'dropout: mask must have the shape and dtype of x '
                                         r'\(\(2, 3\) float32\), got \(3,\) float32'):
        F.dropout(x, mask=xp.ones(3, numpy.float32))
