import math

import numpy
import pytest

import dchain
import dchain.functions as F
from dchain.testing import assert_allclose, check_backward, check_double_backward

DTYPES = [numpy.float16, numpy.float32, numpy.float64]
SHAPES = [(3, 4), (2, 3, 4), (5,), ()]
TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-4, rtol=1e-3),
       numpy.float64: dict(atol=1e-6, rtol=1e-5)}
FORWARD_TOL = {numpy.float16: dict(atol=2e-3, rtol=2e-3),
               numpy.float32: dict(atol=1e-6, rtol=1e-5),
               numpy.float64: dict(atol=1e-12, rtol=1e-10)}

_erf = numpy.vectorize(math.erf)


def _sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def _gelu_tanh(x):
    return 0.5 * x * (1 + numpy.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


# name: (dchain function, NumPy reference on float64, has a kink at 0)
ELEMENTWISE = {
    'relu': (F.relu, lambda x: numpy.maximum(x, 0), True),
    'leaky_relu': (F.leaky_relu, lambda x: numpy.where(x >= 0, x, 0.2 * x), True),
    'leaky_relu_slope': (lambda x: F.leaky_relu(x, slope=0.5),
                         lambda x: numpy.where(x >= 0, x, 0.5 * x), True),
    'elu': (F.elu, lambda x: numpy.where(x >= 0, x, numpy.exp(x) - 1), True),
    'elu_alpha': (lambda x: F.elu(x, alpha=0.5),
                  lambda x: numpy.where(x >= 0, x, 0.5 * (numpy.exp(x) - 1)), True),
    'sigmoid': (F.sigmoid, _sigmoid, False),
    'tanh': (F.tanh, numpy.tanh, False),
    'softplus': (F.softplus, lambda x: numpy.log1p(numpy.exp(x)), False),
    'softplus_beta': (lambda x: F.softplus(x, beta=2.0),
                      lambda x: numpy.log1p(numpy.exp(2 * x)) / 2, False),
    'gelu': (F.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))), False),
    'gelu_tanh': (lambda x: F.gelu(x, approximate='tanh'), _gelu_tanh, False),
}


def _input(xp, rng, shape, dtype, kink):
    x = rng.uniform(-2, 2, shape)
    if kink:
        # Keep central differences away from the kink at 0.
        x = numpy.where(numpy.abs(x) < 0.1, 0.5, x)
    return xp.asarray(x, dtype=dtype)


@pytest.mark.parametrize('name', sorted(ELEMENTWISE))
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('dtype', DTYPES)
def test_elementwise(xp, rng, name, shape, dtype):
    func, reference, kink = ELEMENTWISE[name]
    x = _input(xp, rng, shape, dtype, kink)
    y = func(x)
    assert isinstance(y, dchain.Variable)
    assert y.shape == shape and y.dtype == dtype
    assert_allclose(y.data, reference(dchain.backend.to_cpu(x).astype(numpy.float64)),
                    **FORWARD_TOL[dtype])
    gy = xp.asarray(rng.uniform(-1, 1, shape), dtype=dtype)
    check_backward(func, x, gy, **TOL[dtype])


@pytest.mark.parametrize('name', sorted(ELEMENTWISE))
def test_elementwise_double_backward(xp, rng, name):
    func, _, kink = ELEMENTWISE[name]
    x = _input(xp, rng, (3, 4), numpy.float64, kink)
    gy = xp.asarray(rng.uniform(-1, 1, (3, 4)))
    ggx = xp.asarray(rng.uniform(-1, 1, (3, 4)))
    check_double_backward(func, x, gy, ggx, atol=1e-6, rtol=1e-5)


def test_relu_has_no_second_derivative_path(xp):
    x = dchain.Variable(xp.asarray([-1.5, 0.4, 2.0]))
    gx, = dchain.grad([F.sum(F.relu(x))], [x], enable_double_backprop=True)
    assert_allclose(gx.data, [0, 1, 1], atol=0, rtol=0)
    # The first derivative is piecewise constant: nothing leads from it back to x.
    assert dchain.grad([F.sum(gx)], [x]) == [None]


@pytest.mark.parametrize('func', [F.sigmoid, F.tanh])
def test_second_derivative_values(xp, func):
    # d2y/dx2 checked against closed forms, through grad with enable_double_backprop.
    x_data = xp.asarray([-1.5, -0.3, 0.4, 2.0])
    x = dchain.Variable(x_data)
    gx, = dchain.grad([F.sum(func(x))], [x], enable_double_backprop=True)
    ggx, = dchain.grad([F.sum(gx)], [x])
    x64 = dchain.backend.to_cpu(x_data)
    s = _sigmoid(x64)
    t = numpy.tanh(x64)
    expected = {F.sigmoid: s * (1 - s) * (1 - 2 * s), F.tanh: -2 * t * (1 - t ** 2)}[func]
    assert_allclose(ggx.data, expected, atol=1e-12, rtol=1e-10)


def test_relu_gradient_is_zero_at_and_below_zero(xp):
    x = dchain.Variable(xp.asarray([-1.0, 0.0, 2.0], numpy.float32))
    F.sum(F.relu(x)).backward()
    assert_allclose(x.grad, [0, 0, 1], atol=0, rtol=0)


def test_leaky_relu_and_elu_values_at_the_boundary(xp):
    x = xp.asarray([-2.0, 0.0, 3.0], numpy.float32)
    assert_allclose(F.leaky_relu(x).data, [-0.4, 0.0, 3.0], atol=1e-7, rtol=0)
    assert_allclose(F.elu(x, alpha=2.0).data, [2 * (math.exp(-2) - 1), 0.0, 3.0], atol=1e-6,
                    rtol=0)


def test_leaky_relu_and_elu_gradients_at_zero_take_the_negative_branch(xp):
    # Chainer's documented gradients: slope * gy and alpha * gy at exactly x = 0.
    x = dchain.Variable(xp.asarray([-1.0, 0.0, 1.0], numpy.float32))
    F.sum(F.leaky_relu(x, slope=0.3)).backward()
    assert_allclose(x.grad, [0.3, 0.3, 1.0], atol=0, rtol=1e-7)
    x = dchain.Variable(xp.asarray([-1.0, 0.0, 1.0], numpy.float32))
    F.sum(F.elu(x, alpha=2.0)).backward()
    assert_allclose(x.grad, [2 * math.exp(-1), 2.0, 1.0], atol=0, rtol=1e-6)


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_saturating_functions_do_not_overflow(xp, dtype):
    x = xp.asarray([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype)
    with numpy.errstate(over='raise', invalid='raise', divide='raise'):
        assert_allclose(F.sigmoid(x).data, [0, _sigmoid(-50.0), 0.5, 1, 1], atol=1e-20, rtol=1e-6)
        assert_allclose(F.softplus(x).data, [0, math.log1p(math.exp(-50)), math.log(2), 50,
                                             1000], atol=1e-20, rtol=1e-6)
        assert_allclose(F.elu(x).data, [-1, -1, 0, 50, 1000], atol=1e-6, rtol=1e-6)
        assert_allclose(F.gelu(x).data, [0, 0, 0, 50, 1000], atol=1e-20, rtol=1e-6)
        y = F.softmax(x.reshape(1, -1))
        assert_allclose(y.data, [[0, 0, 0, 0, 1]], atol=1e-20, rtol=1e-6)
        assert bool(xp.isfinite(F.log_softmax(x.reshape(1, -1)).data).all())


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_gelu_matches_erf_over_the_whole_line(xp, dtype):
    # The erfc fit is float32 accurate, including the far negative tail where x * Phi(x) is tiny.
    x64 = numpy.concatenate([numpy.linspace(-12, 12, 4001), [-1e-6, 1e-6, 0.0]])
    expected = 0.5 * x64 * numpy.vectorize(math.erfc)(-x64 / math.sqrt(2))
    y = dchain.backend.to_cpu(F.gelu(xp.asarray(x64, dtype)).data).astype(numpy.float64)
    # Phi(x) far in the tail changes by a relative x**2 * dx / x when x moves by dx: the
    # rounding of x and x**2 in the dtype bounds what any implementation can reach there.
    unit = 5e-13 if dtype == numpy.float64 else 1e-6
    allowed = unit * (1 + x64 ** 2) * numpy.abs(expected) + 1e-37
    assert (numpy.abs(y - expected) <= allowed).all(), numpy.max(numpy.abs(y - expected) / allowed)


def test_gelu_tanh_is_close_to_exact(xp):
    x = xp.asarray(numpy.linspace(-5, 5, 101))
    assert_allclose(F.gelu(x, approximate='tanh').data, F.gelu(x).data, atol=1e-3, rtol=0)


def test_gelu_refuses_unknown_approximation(xp):
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'erf'"):
        F.gelu(xp.ones(3, numpy.float32), approximate='erf')


@pytest.mark.parametrize('shape,axis', [((3, 4), 1), ((3, 4), 0), ((2, 3, 4), 1),
                                        ((2, 3, 4), 2), ((2, 3, 4), -1), ((5,), 0)])
@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('log', [False, True])
def test_softmax(xp, rng, shape, axis, dtype, log):
    x = xp.asarray(rng.uniform(-3, 3, shape), dtype=dtype)
    func = (lambda v: F.log_softmax(v, axis=axis)) if log else (lambda v: F.softmax(v, axis=axis))
    y = func(x)
    assert y.shape == shape and y.dtype == dtype
    x64 = dchain.backend.to_cpu(x).astype(numpy.float64)
    e = numpy.exp(x64 - x64.max(axis=axis, keepdims=True))
    expected = e / e.sum(axis=axis, keepdims=True)
    assert_allclose(y.data, numpy.log(expected) if log else expected, **FORWARD_TOL[dtype])
    gy = xp.asarray(rng.uniform(-1, 1, shape), dtype=dtype)
    check_backward(func, x, gy, **TOL[dtype])
    if dtype == numpy.float64:
        check_double_backward(func, x, gy, xp.asarray(rng.uniform(-1, 1, shape)),
                              atol=1e-6, rtol=1e-5)


def test_softmax_default_axis_is_1(xp, rng):
    x = xp.asarray(rng.uniform(-1, 1, (2, 3, 4)))
    assert_allclose(F.softmax(x).data.sum(axis=1), numpy.ones((2, 4)))
    assert_allclose(F.log_softmax(x).data, F.log_softmax(x, axis=1).data, atol=0, rtol=0)


@pytest.mark.parametrize('func', [F.softmax, F.log_softmax])
def test_softmax_axis_out_of_range(xp, func):
    name = func.__name__
    with pytest.raises(ValueError, match=r'{}: axis 1 is out of range for x of shape \(4,\)'
                       .format(name)):
        func(xp.ones(4, numpy.float32))
    with pytest.raises(ValueError, match='{}: axis -3 is out of range'.format(name)):
        func(xp.ones((2, 3), numpy.float32), axis=-3)


@pytest.mark.parametrize('x_shape,beta_shape', [((3, 4), (4,)), ((2, 3, 4), (3,)),
                                                ((2, 3, 4), (3, 4)), ((3, 4), ())])
@pytest.mark.parametrize('dtype', DTYPES)
def test_swish(xp, rng, x_shape, beta_shape, dtype):
    x = xp.asarray(rng.uniform(-2, 2, x_shape), dtype=dtype)
    beta = xp.asarray(rng.uniform(0.5, 2, beta_shape), dtype=dtype)
    y = F.swish(x, beta)
    assert y.shape == x_shape and y.dtype == dtype
    x64 = dchain.backend.to_cpu(x).astype(numpy.float64)
    b64 = dchain.backend.to_cpu(beta).astype(numpy.float64)
    b64 = b64.reshape((1,) + beta_shape + (1,) * (len(x_shape) - len(beta_shape) - 1))
    assert_allclose(y.data, x64 * _sigmoid(b64 * x64), **FORWARD_TOL[dtype])
    gy = xp.asarray(rng.uniform(-1, 1, x_shape), dtype=dtype)
    check_backward(F.swish, (x, beta), gy, **TOL[dtype])


def test_swish_beta_zero_is_half_x(xp, rng):
    x = xp.asarray(rng.uniform(-2, 2, (3, 4)))
    assert_allclose(F.swish(x, xp.zeros(4)).data, x / 2, atol=1e-15, rtol=0)


def test_swish_refuses_bad_beta(xp):
    x = xp.ones((3, 4), numpy.float32)
    with pytest.raises(ValueError, match=r'swish: beta of shape \(3,\) must match the axes '
                                         r'after the batch axis of x of shape \(3, 4\)'):
        F.swish(x, xp.ones(3, numpy.float32))
    with pytest.raises(ValueError, match='swish: beta of shape'):
        F.swish(x, xp.ones((3, 4), numpy.float32))
    with pytest.raises(TypeError, match='swish: beta must have the dtype of x'):
        F.swish(x, xp.ones(4, numpy.float64))


NAMED = [('relu', F.relu), ('leaky_relu', F.leaky_relu), ('elu', F.elu), ('sigmoid', F.sigmoid),
         ('tanh', F.tanh), ('softmax', F.softmax), ('log_softmax', F.log_softmax),
         ('softplus', F.softplus), ('gelu', F.gelu),
         ('swish', lambda x: F.swish(x, x[0]))]


@pytest.mark.parametrize('name,func', NAMED)
@pytest.mark.parametrize('dtype', [numpy.int32, numpy.int64, numpy.bool_])
def test_integer_inputs_are_refused(xp, name, func, dtype):
    x = xp.ones((2, 3), dtype)
    with pytest.raises(TypeError, match='{}: x must be a float array, got {}'.format(
            name, numpy.dtype(dtype))):
        func(x)


def test_softplus_refuses_zero_beta(xp):
    with pytest.raises(ValueError, match='softplus: beta must be nonzero'):
        F.softplus(xp.ones(2, numpy.float32), beta=0)


def test_no_graph_without_backprop(xp):
    x = dchain.Variable(xp.ones((2, 3), numpy.float32))
    with dchain.no_backprop_mode():
        for func in (F.relu, F.sigmoid, F.tanh, F.softmax, F.log_softmax):
            assert func(x).creator is None
    assert F.relu(x).creator is not None
