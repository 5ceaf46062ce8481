import numpy
import pytest

import dchain
import dchain.functions as F
from dchain.testing import assert_allclose, check_backward, check_double_backward

DTYPES = [numpy.float16, numpy.float32, numpy.float64]
TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-4, rtol=1e-3),
       numpy.float64: dict(atol=1e-6, rtol=1e-5)}


def _distinct(xp, rng, shape, dtype):
    """Values at least 0.1 apart, so no tie moves under central differences."""
    size = int(numpy.prod(shape))
    values = (rng.permutation(size) - size / 2) * 0.1
    return xp.asarray(values.reshape(shape), dtype=dtype)


@pytest.mark.parametrize('shape,axis,keepdims', [
    ((3, 4), None, False), ((3, 4), 0, False), ((3, 4), 1, True), ((2, 3, 4), (0, 2), False),
    ((2, 3, 4), -1, True), ((5,), None, True), ((2, 3, 4), (2, 0), True)])
@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('name', ['max', 'min'])
def test_max_min(xp, rng, shape, axis, keepdims, dtype, name):
    x = _distinct(xp, rng, shape, dtype)
    func = getattr(F, name)
    y = func(x, axis=axis, keepdims=keepdims)
    expected = getattr(numpy, name)(dchain.backend.to_cpu(x), axis=axis, keepdims=keepdims)
    assert y.shape == expected.shape and y.dtype == dtype
    assert_allclose(y.data, expected, atol=0, rtol=0)
    gy = xp.asarray(rng.uniform(-1, 1, y.shape), dtype=dtype)
    check_backward(lambda v: func(v, axis=axis, keepdims=keepdims), x, gy, **TOL[dtype])
    if dtype == numpy.float64:
        check_double_backward(lambda v: func(v, axis=axis, keepdims=keepdims) * 1.0, x, gy,
                              xp.asarray(rng.uniform(-1, 1, shape)))


@pytest.mark.parametrize('name', ['max', 'min'])
def test_max_min_gradient_goes_to_every_tie(xp, name):
    # Chainer's rule: each element equal to the result gets the whole output gradient.
    sign = 1 if name == 'max' else -1
    x = dchain.Variable(xp.asarray([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]) * sign)
    y = getattr(F, name)(x, axis=1)
    y.grad = xp.asarray([10.0, 20.0])
    y.backward()
    assert_allclose(x.grad, [[0, 10, 10], [20, 20, 0]], atol=0, rtol=0)


def test_max_errors(xp):
    with pytest.raises(TypeError, match='max: x must be a float array, got int32'):
        F.max(xp.ones(3, numpy.int32))
    with pytest.raises(TypeError, match='min: x must be a float array, got int64'):
        F.min(xp.ones(3, numpy.int64))
    with pytest.raises(ValueError, match=r'max: cannot reduce over an empty axis \(x of shape '
                                         r'\(2, 0\)\)'):
        F.max(xp.ones((2, 0), numpy.float32), axis=1)
    with pytest.raises(ValueError, match='min: cannot reduce over an empty axis'):
        F.min(xp.ones((0,), numpy.float32))
    with pytest.raises(ValueError, match='max: axis 2 is out of range for 2 dimensions'):
        F.max(xp.ones((2, 3), numpy.float32), axis=2)
    with pytest.raises(ValueError, match=r'min: axis \(1, -1\) repeats an axis'):
        F.min(xp.ones((2, 3), numpy.float32), axis=(1, -1))
    # Reducing the other axis of an array with an empty axis is fine.
    assert F.max(xp.ones((2, 0), numpy.float32), axis=0).shape == (0,)


def _interleaved(xp, rng, shape1, shape2, dtype):
    """x1 on odd tenths, x2 on even tenths: never equal, at least 0.1 apart."""
    x1 = rng.choice(numpy.arange(-9, 10, 2) / 10, shape1)
    x2 = rng.choice(numpy.arange(-10, 11, 2) / 10, shape2)
    return xp.asarray(x1, dtype=dtype), xp.asarray(x2, dtype=dtype)


@pytest.mark.parametrize('shapes', [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)),
                                    ((), (2,))])
@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('name', ['maximum', 'minimum'])
def test_maximum_minimum(xp, rng, shapes, dtype, name):
    x1, x2 = _interleaved(xp, rng, shapes[0], shapes[1], dtype)
    func = getattr(F, name)
    y = func(x1, x2)
    expected = getattr(numpy, name)(dchain.backend.to_cpu(x1), dchain.backend.to_cpu(x2))
    assert y.shape == expected.shape and y.dtype == dtype
    assert_allclose(y.data, expected, atol=0, rtol=0)
    gy = xp.asarray(rng.uniform(-1, 1, y.shape), dtype=dtype)
    check_backward(func, (x1, x2), gy, **TOL[dtype])
    if dtype == numpy.float64:
        check_double_backward(lambda a, b: func(a, b) * 1.0, (x1, x2), gy,
                              _interleaved(xp, rng, shapes[0], shapes[1], dtype))


@pytest.mark.parametrize('name', ['maximum', 'minimum'])
def test_maximum_minimum_ties_go_to_x1(xp, name):
    x1 = dchain.Variable(xp.asarray([1.0, 2.0, 3.0]))
    x2 = dchain.Variable(xp.asarray([1.0, 0.0, 5.0]))
    F.sum(getattr(F, name)(x1, x2) * xp.asarray([1.0, 2.0, 3.0])).backward()
    first = [1, 2, 0] if name == 'maximum' else [1, 0, 3]
    second = [0, 0, 3] if name == 'maximum' else [0, 2, 0]
    assert_allclose(x1.grad, first, atol=0, rtol=0)
    assert_allclose(x2.grad, second, atol=0, rtol=0)


def test_maximum_errors(xp):
    a = xp.ones((2, 3), numpy.float32)
    with pytest.raises(TypeError, match='maximum: x1 and x2 must have the same dtype, got '
                                        'float32 and float64'):
        F.maximum(a, xp.ones((2, 3), numpy.float64))
    with pytest.raises(TypeError, match='minimum: x1 must be a float array, got int32'):
        F.minimum(xp.ones(3, numpy.int32), xp.ones(3, numpy.int32))
    with pytest.raises(ValueError, match=r'maximum: x1 of shape \(2, 3\) and x2 of shape '
                                         r'\(4,\) cannot be broadcast together'):
        F.maximum(a, xp.ones(4, numpy.float32))


@pytest.mark.parametrize('bounds', [(-0.5, 0.5), (None, 0.3), (-0.3, None), (0.0, 10.0)])
@pytest.mark.parametrize('shape', [(3, 4), (5,), ()])
@pytest.mark.parametrize('dtype', DTYPES)
def test_clip(xp, rng, bounds, shape, dtype):
    x_min, x_max = bounds
    # Keep inputs off the bounds so central differences stay on one side.
    values = rng.uniform(-1, 1, shape)
    for bound in bounds:
        if bound is not None:
            values = numpy.where(numpy.abs(values - bound) < 0.05, bound + 0.1, values)
    x = xp.asarray(values, dtype=dtype)
    y = F.clip(x, x_min, x_max)
    assert y.shape == shape and y.dtype == dtype
    assert_allclose(y.data, numpy.clip(dchain.backend.to_cpu(x), x_min, x_max), atol=0, rtol=0)
    gy = xp.asarray(rng.uniform(-1, 1, shape), dtype=dtype)
    check_backward(lambda v: F.clip(v, x_min, x_max), x, gy, **TOL[dtype])
    if dtype == numpy.float64:
        check_double_backward(lambda v: F.clip(v, x_min, x_max) * 1.0, x, gy,
                              xp.asarray(rng.uniform(-1, 1, shape)))


def test_clip_gradient_is_one_at_the_edges(xp):
    x = dchain.Variable(xp.asarray([-2.0, -1.0, 0.0, 1.0, 2.0], numpy.float32))
    F.sum(F.clip(x, -1.0, 1.0)).backward()
    assert_allclose(x.grad, [0, 1, 1, 1, 0], atol=0, rtol=0)


def test_clip_keeps_the_dtype_with_numpy_float64_bounds(xp):
    x = xp.asarray([0.1, 0.5, 0.9], numpy.float32)
    y = F.clip(x, numpy.float64(0.2), numpy.float64(0.8))
    assert y.dtype == numpy.float32
    assert_allclose(y.data, [0.2, 0.5, 0.8], atol=1e-7, rtol=0)


def test_clip_errors(xp):
    x = xp.ones(3, numpy.float32)
    with pytest.raises(ValueError, match='clip: x_min must be less than x_max, got x_min=1.0 and '
                                         'x_max=1.0'):
        F.clip(x, 1.0, 1.0)
    with pytest.raises(ValueError, match='clip: x_min and x_max cannot both be None'):
        F.clip(x, None, None)
    with pytest.raises(TypeError, match='clip: x must be a float array, got int32'):
        F.clip(xp.ones(3, numpy.int32), 0.0, 1.0)
