import numpy
import pytest

import dchain
import dchain.functions as F
from dchain import using_config
from dchain.testing import assert_allclose, check_backward, check_double_backward

TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-4, rtol=1e-3),
       numpy.float64: dict(atol=1e-6, rtol=1e-5)}

# (x shape, gamma shape, axis, the axes averaged over)
CASES = [
    ((6, 3), (3,), None, (0,)),
    ((4, 3, 2, 5), (3,), None, (0, 2, 3)),
    ((4, 3, 2), (3, 2), None, (0,)),
    ((4, 3, 5), (4, 5), 1, (1,)),
    ((2, 3, 4, 3), (3,), (0, 2, 3), (0, 2, 3)),
    ((5, 2, 3), (2,), (-1, 0), (0, 2)),
]


def _cpu(x):
    x = x.data if isinstance(x, dchain.Variable) else x
    return numpy.asarray(dchain.backend.to_cpu(x), numpy.float64)


def _array(xp, rng, shape, dtype, low=-1.0, high=1.0):
    return xp.asarray(rng.uniform(low, high, shape), dtype=dtype)


def normalize_reference(x, gamma, beta, mean, var, eps, axes):
    """gamma * (x - mean) / sqrt(var + eps) + beta in float64, with channel-shaped parameters."""
    def expand(p):
        return numpy.expand_dims(_cpu(p), axes)
    return expand(gamma) * (_cpu(x) - expand(mean)) / numpy.sqrt(expand(var) + eps) + \
        expand(beta)


@pytest.mark.parametrize('shape,param_shape,axis,axes', CASES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_batch_normalization_forward(xp, rng, shape, param_shape, axis, axes, dtype):
    x = _array(xp, rng, shape, dtype, -3, 5)
    gamma, beta = _array(xp, rng, param_shape, dtype), _array(xp, rng, param_shape, dtype)
    y = F.batch_normalization(x, gamma, beta, eps=1e-3, axis=axis)
    assert y.shape == shape and y.dtype == dtype
    x64 = _cpu(x)
    expected = normalize_reference(x, gamma, beta, x64.mean(axis=axes), x64.var(axis=axes), 1e-3,
                                   axes)
    assert_allclose(y.data, expected, **TOL[dtype])


@pytest.mark.parametrize('shape,param_shape,axis,axes', CASES)
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_batch_normalization_updates_running_statistics_in_place(xp, rng, shape, param_shape,
                                                                 axis, axes, dtype):
    running_mean = _array(xp, rng, param_shape, dtype)
    running_var = _array(xp, rng, param_shape, dtype, 0.5, 2)
    expected_mean, expected_var = _cpu(running_mean).copy(), _cpu(running_var).copy()
    ids = id(running_mean), id(running_var)
    for step in range(2):
        x = _array(xp, rng, shape, dtype, -2 + step, 3)
        F.batch_normalization(x, xp.ones(param_shape, dtype), xp.zeros(param_shape, dtype),
                              running_mean=running_mean, running_var=running_var, decay=0.7,
                              axis=axis)
        x64 = _cpu(x)
        count = x64.size // numpy.prod(param_shape)
        expected_mean = 0.7 * expected_mean + 0.3 * x64.mean(axis=axes)
        expected_var = 0.7 * expected_var + 0.3 * x64.var(axis=axes) * count / (count - 1)
        assert (id(running_mean), id(running_var)) == ids
        assert_allclose(running_mean, expected_mean, **TOL[dtype])
        assert_allclose(running_var, expected_var, **TOL[dtype])


def test_batch_normalization_updates_only_the_statistics_given(xp, rng):
    running_mean = xp.zeros(3, numpy.float64)
    x = _array(xp, rng, (8, 3), numpy.float64)
    F.batch_normalization(x, xp.ones(3), xp.zeros(3), running_mean=running_mean, decay=0.0)
    assert_allclose(running_mean, _cpu(x).mean(axis=0))


@pytest.mark.parametrize('shape,param_shape,axis,axes', CASES)
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_batch_normalization_backward(xp, rng, shape, param_shape, axis, axes, dtype):
    x = _array(xp, rng, shape, dtype, -2, 2)
    gamma, beta = _array(xp, rng, param_shape, dtype, 0.5, 1.5), _array(xp, rng, param_shape,
                                                                        dtype)
    gy = _array(xp, rng, shape, dtype)
    tol = dict(atol=1e-3, rtol=1e-2) if dtype == numpy.float32 else dict(atol=1e-6, rtol=1e-5)
    check_backward(lambda x, g, b: F.batch_normalization(x, g, b, axis=axis), (x, gamma, beta), gy,
                   **tol)


@pytest.mark.parametrize('shape,param_shape,axis,axes', [CASES[0], CASES[1], CASES[3]])
def test_batch_normalization_double_backward(xp, rng, shape, param_shape, axis, axes):
    x = _array(xp, rng, shape, numpy.float64, -2, 2)
    gamma, beta = _array(xp, rng, param_shape, numpy.float64, 0.5, 1.5), \
        _array(xp, rng, param_shape, numpy.float64)
    gy, ggx = _array(xp, rng, shape, numpy.float64), _array(xp, rng, shape, numpy.float64)
    check_double_backward(lambda x, g, b: F.batch_normalization(x, g, b, axis=axis),
                          (x, gamma, beta), gy,
                          (ggx, _array(xp, rng, param_shape, numpy.float64), beta * 0.5),
                          atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize('shape,param_shape,axis,axes', CASES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_fixed_batch_normalization_forward(xp, rng, shape, param_shape, axis, axes, dtype):
    x = _array(xp, rng, shape, dtype, -3, 3)
    gamma, beta, mean = [_array(xp, rng, param_shape, dtype) for _ in range(3)]
    var = _array(xp, rng, param_shape, dtype, 0.5, 2)
    y = F.fixed_batch_normalization(x, gamma, beta, mean, var, eps=1e-4, axis=axis)
    assert y.shape == shape and y.dtype == dtype
    assert_allclose(y.data, normalize_reference(x, gamma, beta, mean, var, 1e-4, axes),
                    **TOL[dtype])


@pytest.mark.parametrize('shape,param_shape,axis,axes', CASES)
def test_fixed_batch_normalization_backward_and_double_backward(xp, rng, shape, param_shape,
                                                                axis, axes):
    x = _array(xp, rng, shape, numpy.float64, -2, 2)
    gamma, beta, mean = [_array(xp, rng, param_shape, numpy.float64) for _ in range(3)]
    var = _array(xp, rng, param_shape, numpy.float64, 0.5, 2)
    inputs = (x, gamma, beta, mean, var)

    def func(*args):
        return F.fixed_batch_normalization(*args, axis=axis)
    gy = _array(xp, rng, shape, numpy.float64)
    check_backward(func, inputs, gy)
    grad_grads = (_array(xp, rng, shape, numpy.float64),) + tuple(
        _array(xp, rng, param_shape, numpy.float64) for _ in range(4))
    check_double_backward(func, inputs, gy, grad_grads, atol=1e-5, rtol=1e-4)


def test_fixed_batch_normalization_matches_training_statistics(xp, rng):
    x = _array(xp, rng, (7, 4, 3), numpy.float64, -2, 4)
    gamma, beta = _array(xp, rng, (4,), numpy.float64), _array(xp, rng, (4,), numpy.float64)
    mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    assert_allclose(F.fixed_batch_normalization(x, gamma, beta, mean, var).data,
                    F.batch_normalization(x, gamma, beta).data)


def test_float16_input_with_float32_parameters(xp, rng):
    x = _array(xp, rng, (6, 3), numpy.float16, -2, 2)
    gamma, beta = _array(xp, rng, (3,), numpy.float32), _array(xp, rng, (3,), numpy.float32)
    gamma_var, beta_var = dchain.Variable(gamma), dchain.Variable(beta)
    x_var = dchain.Variable(x)
    y = F.batch_normalization(x_var, gamma_var, beta_var)
    assert y.dtype == numpy.float16
    x64 = _cpu(x)
    assert_allclose(y.data, normalize_reference(x, gamma, beta, x64.mean(axis=0),
                                                x64.var(axis=0), 2e-5, (0,)), **TOL[numpy.float16])
    y.grad = xp.ones_like(y.data)
    y.backward()
    assert x_var.grad.dtype == numpy.float16 and gamma_var.grad.dtype == numpy.float32
    assert_allclose(beta_var.grad, numpy.full(3, 6.0))
    with using_config('train', False):
        z = F.fixed_batch_normalization(x, gamma, beta, xp.zeros(3, numpy.float32),
                                        xp.ones(3, numpy.float32))
    assert z.dtype == numpy.float16


def test_batch_normalization_errors(xp):
    x = xp.ones((4, 3), numpy.float32)
    ones = xp.ones(3, numpy.float32)
    with pytest.raises(TypeError, match='batch_normalization: x must be a float array, got int32'):
        F.batch_normalization(xp.ones((4, 3), numpy.int32), ones, ones)
    with pytest.raises(ValueError, match=r'batch_normalization: gamma must have the channel shape '
                                         r'\(3,\) of x of shape \(4, 3\) \(axes \(0,\) averaged\), '
                                         r'got \(5,\)'):
        F.batch_normalization(x, xp.ones(5, numpy.float32), ones)
    with pytest.raises(TypeError, match=r'batch_normalization: beta must be a float array of the '
                                        r'dtype of gamma \(float32\), got float64'):
        F.batch_normalization(x, ones, xp.ones(3))
    with pytest.raises(ValueError, match='batch_normalization: running_var must have the channel '
                                         'shape'):
        F.batch_normalization(x, ones, ones, running_var=xp.ones(4, numpy.float32))
    with pytest.raises(ValueError, match=r'batch_normalization: x must have at least 2 dimensions '
                                         r'for gamma of shape \(3,\), got shape \(3,\)'):
        F.batch_normalization(ones, ones, ones)
    with pytest.raises(ValueError, match=r'batch_normalization: axis 2 is out of range for x of '
                                         r'shape \(4, 3\)'):
        F.batch_normalization(x, ones, ones, axis=2)
    with pytest.raises(ValueError, match=r'batch_normalization: axis \(0, -2\) repeats an axis'):
        F.batch_normalization(x, ones, ones, axis=(0, -2))


def test_fixed_batch_normalization_errors(xp):
    x = xp.ones((4, 3), numpy.float32)
    ones = xp.ones(3, numpy.float32)
    with pytest.raises(ValueError, match=r'fixed_batch_normalization: var must have the channel '
                                         r'shape \(3,\)'):
        F.fixed_batch_normalization(x, ones, ones, ones, xp.ones(2, numpy.float32))
    with pytest.raises(TypeError, match=r'fixed_batch_normalization: mean must be a float array '
                                        r'of the dtype of gamma \(float32\), got int32'):
        F.fixed_batch_normalization(x, ones, ones, xp.ones(3, numpy.int32), ones)


def layer_norm_reference(x, gamma, beta, eps):
    x = _cpu(x)
    normalized = (x - x.mean(axis=1, keepdims=True)) / numpy.sqrt(x.var(axis=1, keepdims=True)
                                                                  + eps)
    return _cpu(gamma) * normalized + _cpu(beta)


@pytest.mark.parametrize('shape', [(3, 4), (5, 7), (1, 16), (2, 1)])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_layer_normalization_forward(xp, rng, shape, dtype):
    x = _array(xp, rng, shape, dtype, -3, 4)
    gamma, beta = _array(xp, rng, shape[1:], dtype), _array(xp, rng, shape[1:], dtype)
    y = F.layer_normalization(x, gamma, beta)
    assert y.shape == shape and y.dtype == dtype
    assert_allclose(y.data, layer_norm_reference(x, gamma, beta, 1e-5), **TOL[dtype])


@pytest.mark.parametrize('shape', [(3, 4), (5, 7), (1, 6)])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_layer_normalization_backward(xp, rng, shape, dtype):
    x = _array(xp, rng, shape, dtype, -2, 2)
    gamma, beta = _array(xp, rng, shape[1:], dtype), _array(xp, rng, shape[1:], dtype)
    gy = _array(xp, rng, shape, dtype)
    tol = dict(atol=1e-3, rtol=1e-2) if dtype == numpy.float32 else dict(atol=1e-6, rtol=1e-5)
    check_backward(F.layer_normalization, (x, gamma, beta), gy, **tol)


def test_layer_normalization_double_backward(xp, rng):
    shape = (4, 5)
    x = _array(xp, rng, shape, numpy.float64, -2, 2)
    gamma, beta = _array(xp, rng, (5,), numpy.float64), _array(xp, rng, (5,), numpy.float64)
    check_double_backward(F.layer_normalization, (x, gamma, beta),
                          _array(xp, rng, shape, numpy.float64),
                          (_array(xp, rng, shape, numpy.float64), gamma, beta),
                          atol=1e-5, rtol=1e-4)


def test_layer_normalization_errors(xp):
    ones = xp.ones(4, numpy.float32)
    with pytest.raises(ValueError, match=r'layer_normalization: x must have 2 dimensions '
                                         r'\(batch, units\), got shape \(2, 3, 4\)'):
        F.layer_normalization(xp.ones((2, 3, 4), numpy.float32), ones, ones)
    with pytest.raises(ValueError, match=r'layer_normalization: gamma must have shape \(3,\) for x '
                                         r'of shape \(2, 3\), got \(4,\)'):
        F.layer_normalization(xp.ones((2, 3), numpy.float32), ones, xp.ones(3, numpy.float32))
    with pytest.raises(TypeError, match='layer_normalization: x must be a float array, got int64'):
        F.layer_normalization(xp.ones((2, 4), numpy.int64), ones, ones)
    with pytest.raises(TypeError, match=r'layer_normalization: beta must be a float array of the '
                                        r'dtype of gamma \(float32\), got float16'):
        F.layer_normalization(xp.ones((2, 4), numpy.float32), ones, xp.ones(4, numpy.float16))
