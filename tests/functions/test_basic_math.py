import numpy
import pytest

import dchain
import dchain.functions as F
from dchain.testing import assert_allclose, check_backward, check_double_backward

SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2,))]
TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-4, rtol=1e-3),
       numpy.float64: dict(atol=1e-5, rtol=1e-4)}

OPS = {
    'add': (lambda a, b: a + b, lambda a, b: a + b),
    'sub': (lambda a, b: a - b, lambda a, b: a - b),
    'mul': (lambda a, b: a * b, lambda a, b: a * b),
    'div': (lambda a, b: a / b, lambda a, b: a / b),
    'pow': (lambda a, b: a ** b, lambda a, b: a ** b),
}


def _inputs(xp, rng, shapes, dtype, positive=False):
    arrays = []
    for shape in shapes:
        x = rng.uniform(0.5, 2.0, shape) if positive else rng.uniform(-1, 1, shape)
        arrays.append(xp.asarray(x, dtype=dtype))
    return arrays


@pytest.mark.parametrize('op', sorted(OPS))
@pytest.mark.parametrize('shapes', SHAPES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_binary(xp, rng, op, shapes, dtype):
    a, b = _inputs(xp, rng, shapes, dtype, positive=op in ('div', 'pow'))
    func, reference = OPS[op]
    y = func(dchain.Variable(a), dchain.Variable(b))
    assert y.dtype == dtype
    assert_allclose(y.data, reference(a.astype(numpy.float64), b.astype(numpy.float64)),
                    **TOL[dtype])
    gy = xp.asarray(rng.uniform(-1, 1, y.shape), dtype=dtype)
    check_backward(func, (a, b), gy, **TOL[dtype])


@pytest.mark.parametrize('op', sorted(OPS))
def test_binary_double_backward(xp, rng, op):
    a, b = _inputs(xp, rng, [(3, 2), (3, 2)], numpy.float64, positive=True)
    gy, gga, ggb = _inputs(xp, rng, [(3, 2)] * 3, numpy.float64)
    check_double_backward(OPS[op][0], (a, b), gy, (gga, ggb), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_unary_and_constants(xp, rng, dtype):
    x = _inputs(xp, rng, [(4, 3)], dtype, positive=True)[0]
    for func, reference in [
            (lambda v: -v, lambda v: -v),
            (lambda v: 2 * v + 1, lambda v: 2 * v + 1),
            (lambda v: 1 - v / 4, lambda v: 1 - v / 4),
            (lambda v: 3.0 / v, lambda v: 3.0 / v),
            (lambda v: v ** 3, lambda v: v ** 3),
            (lambda v: 2.0 ** v, lambda v: 2.0 ** v),
            (lambda v: abs(v - 1.2), lambda v: abs(v - 1.2))]:
        y = func(dchain.Variable(x))
        assert y.dtype == dtype
        assert_allclose(y.data, reference(x), atol=1e-5, rtol=1e-5)
        check_backward(func, x, xp.ones((4, 3), dtype), **TOL[dtype])


def test_scalar_keeps_dtype(xp):
    x = dchain.Variable(xp.ones(3, numpy.float32))
    assert (x * numpy.float64(2)).dtype == numpy.float32
    assert (x + 1).dtype == numpy.float32


def test_mismatched_variable_dtypes_are_refused(xp):
    a = dchain.Variable(xp.ones(3, numpy.float32))
    b = dchain.Variable(xp.ones(3, numpy.float64))
    with pytest.raises(TypeError, match='add: both operands must have the same dtype, got '
                                        'float32 and float64'):
        a + b


@pytest.mark.parametrize('op', [lambda v, a: v + a, lambda v, a: a + v, lambda v, a: v - a,
                                lambda v, a: a * v, lambda v, a: a / v, lambda v, a: v ** a])
def test_an_array_takes_the_variable_dtype_as_in_chainer(xp, op):
    x = xp.asarray([0.5, 1.5, 2.0], numpy.float32)
    array = xp.asarray([1.25, 2.0, 3.0], numpy.float64)
    v = dchain.Variable(x)
    y = op(v, array)
    assert y.dtype == numpy.float32
    assert_allclose(y.data, op(x, array.astype(numpy.float32)))
    dchain.functions.sum(y).backward()
    assert v.grad.dtype == numpy.float32
    assert (op(v, xp.arange(3)).dtype == numpy.float32)  # an int array too


def test_float_array_with_int_variable(xp):
    a = dchain.Variable(xp.ones(3, numpy.int32))
    assert (a + xp.asarray([1.0, 2.0, 3.0])).dtype == numpy.int32
    with pytest.raises(TypeError, match='add: cannot combine a int32 variable with a float64 '
                                        'array holding non-integer values'):
        a + xp.asarray([1.0, 2.5, 3.0])


def test_float_constant_with_int_variable_is_refused(xp):
    a = dchain.Variable(xp.ones(3, numpy.int32))
    with pytest.raises(TypeError, match='mul: cannot combine a int32 variable'):
        a * 2.5
    assert (a * 2).dtype == numpy.int32


def test_shape_mismatch_names_both_shapes(xp):
    a = dchain.Variable(xp.ones((2, 3), numpy.float32))
    with pytest.raises(ValueError, match=r'sub: operands of shapes \(2, 3\) and \(4,\)'):
        a - xp.ones(4, numpy.float32)


def test_unsupported_operand():
    a = dchain.Variable(numpy.ones(3, numpy.float32))
    with pytest.raises(TypeError, match='add: unsupported operand type'):
        a + 'x'


def test_ndarray_on_the_left(xp):
    a = dchain.Variable(xp.full(3, 2, numpy.float32))
    y = xp.ones(3, numpy.float32) - a
    assert isinstance(y, dchain.Variable)
    assert_allclose(y.data, -xp.ones(3))


@pytest.mark.parametrize('shapes,transa,transb', [
    (((3, 4), (4, 5)), False, False), (((4, 3), (4, 5)), True, False),
    (((3, 4), (5, 4)), False, True), (((4, 3), (5, 4)), True, True),
    (((2, 3, 4), (4, 5)), False, False), (((2, 3, 4), (2, 4, 5)), False, False),
    (((4,), (4, 5)), False, False), (((3, 4), (4,)), False, False)])
def test_matmul(xp, rng, shapes, transa, transb):
    a, b = _inputs(xp, rng, shapes, numpy.float64)
    y = F.matmul(a, b, transa=transa, transb=transb)
    ra = a.swapaxes(-1, -2) if transa else a
    rb = b.swapaxes(-1, -2) if transb else b
    assert_allclose(y.data, numpy.matmul(ra, rb))
    gy = xp.asarray(rng.uniform(-1, 1, y.shape))
    check_backward(lambda a, b: F.matmul(a, b, transa, transb), (a, b), gy)
    if a.ndim == 2 and b.ndim == 2:
        gga, ggb = _inputs(xp, rng, shapes, numpy.float64)
        check_double_backward(lambda a, b: F.matmul(a, b, transa, transb), (a, b), gy,
                              (gga, ggb))


def test_matmul_operator_and_errors(xp):
    a = dchain.Variable(xp.ones((4, 5), numpy.float32))
    assert (a @ xp.ones((5, 2), numpy.float32)).shape == (4, 2)
    assert (xp.ones((3, 4), numpy.float32) @ a).shape == (3, 5)
    with pytest.raises(ValueError, match=r'matmul: inner dimensions differ: a of shape \(4, 5\)'):
        a @ xp.ones((4, 2), numpy.float32)


@pytest.mark.parametrize('shape,axis,keepdims', [
    ((3, 4), None, False), ((3, 4), 0, False), ((3, 4), 1, True), ((2, 3, 4), (0, 2), False),
    ((2, 3, 4), -1, True), ((5,), None, True)])
@pytest.mark.parametrize('func', ['sum', 'mean'])
def test_sum_mean(xp, rng, shape, axis, keepdims, func):
    x = _inputs(xp, rng, [shape], numpy.float64)[0]
    y = getattr(F, func)(x, axis=axis, keepdims=keepdims)
    assert_allclose(y.data, getattr(numpy, func)(x, axis=axis, keepdims=keepdims))
    gy = xp.asarray(rng.uniform(-1, 1, y.shape))
    check_backward(lambda v: getattr(F, func)(v, axis=axis, keepdims=keepdims), x, gy)
    check_double_backward(lambda v: getattr(F, func)(v, axis=axis, keepdims=keepdims) * 1.0,
                          x, gy, xp.asarray(rng.uniform(-1, 1, shape)))


def test_sum_bad_axis(xp):
    with pytest.raises(ValueError, match='sum: axis 2 is out of range for 2 dimensions'):
        F.sum(xp.ones((2, 3)), axis=2)


@pytest.mark.parametrize('func,reference,positive', [
    (F.exp, numpy.exp, False), (F.log, numpy.log, True), (F.sqrt, numpy.sqrt, True),
    (F.square, numpy.square, False), (F.rsqrt, lambda x: 1 / numpy.sqrt(x), True)])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_exponential(xp, rng, func, reference, positive, dtype):
    x = _inputs(xp, rng, [(3, 4)], dtype, positive=positive)[0]
    y = func(x)
    assert y.dtype == dtype
    assert_allclose(y.data, reference(x.astype(numpy.float64)), **TOL[dtype])
    gy = xp.asarray(rng.uniform(-1, 1, (3, 4)), dtype)
    check_backward(func, x, gy, **TOL[dtype])
    if dtype == numpy.float64:
        check_double_backward(func, x, gy, xp.asarray(rng.uniform(-1, 1, (3, 4))))


def test_exp_refuses_integers(xp):
    with pytest.raises(TypeError, match='exp: x must be a float array, got int64'):
        F.exp(xp.ones(3, numpy.int64))


@pytest.mark.parametrize('shapes', [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (1, 4), ()),
                                    ((2, 1, 4), (3, 1), (4,), (2, 3, 4), (1,))])
def test_add_of_many_terms(xp, rng, shapes):
    xs = _inputs(xp, rng, shapes, numpy.float64)
    y = F.add(*xs)
    expected = xs[0]
    for x in xs[1:]:
        expected = expected + x
    assert_allclose(y.data, expected, atol=1e-12, rtol=0)
    gy = xp.asarray(rng.uniform(-1, 1, y.shape))
    check_backward(lambda *vs: F.add(*vs), tuple(xs), gy)


def test_add_terms_and_errors(xp):
    x = xp.ones((2, 3), numpy.float32)
    assert_allclose(F.add(x, 2.0).data, numpy.full((2, 3), 3.0), atol=0, rtol=0)
    assert F.add(x, x, x).dtype == numpy.float32
    with pytest.raises(TypeError, match='add: expected at least two terms, got 1'):
        F.add(x)
    with pytest.raises(ValueError, match=r'add: terms of shapes \(2, 3\), \(4,\), \(2, 3\) '
                                         r'cannot be broadcast together'):
        F.add(x, xp.ones(4, numpy.float32), x)
    with pytest.raises(TypeError, match='add: every term must have the same dtype, got float32 '
                                        r'\(term 0\) and float64 \(term 2\)'):
        F.add(x, x, xp.ones((2, 3)))


@pytest.mark.parametrize('shape,axis', [((3, 4), None), ((3, 4), 1), ((2, 3, 4), 0),
                                        ((2, 3, 4), -2)])
@pytest.mark.parametrize('keepdims', [False, True])
def test_mean_with_weights(xp, rng, shape, axis, keepdims):
    x = xp.asarray(rng.uniform(-1, 1, shape))
    weights = xp.asarray(rng.uniform(0.5, 2, shape if axis is None else shape[axis]))
    y = F.mean(x, axis=axis, weights=weights, keepdims=keepdims)
    x_cpu, w_cpu = dchain.backend.to_cpu(x), dchain.backend.to_cpu(weights)
    if axis is None:
        expected = (x_cpu * w_cpu).sum(keepdims=keepdims) / w_cpu.sum()
    else:
        w_shape = [1] * len(shape)
        w_shape[axis] = shape[axis]
        expected = (x_cpu * w_cpu.reshape(w_shape)).sum(axis=axis, keepdims=keepdims) / \
            w_cpu.sum()
    assert_allclose(y.data, expected, atol=1e-12, rtol=1e-12)
    assert F.average is F.mean
    gy = xp.asarray(rng.uniform(-1, 1, y.shape))
    check_backward(lambda v, w: F.mean(v, axis=axis, weights=w, keepdims=keepdims),
                   (x, weights), gy)


def test_mean_with_weights_errors(xp):
    x = xp.ones((3, 4))
    with pytest.raises(ValueError, match=r'mean: weights need a single axis, got axis \(0, 1\)'):
        F.mean(x, axis=(0, 1), weights=x)
    with pytest.raises(ValueError, match=r'mean: weights must have shape \(3,\) for axis 0 of x '
                                         r'of shape \(3, 4\), got \(4,\)'):
        F.mean(x, axis=0, weights=xp.ones(4))
    with pytest.raises(ValueError, match=r'mean: weights must have the shape of x \(3, 4\) when '
                                         r'axis is None, got \(4,\)'):
        F.mean(x, weights=xp.ones(4))
    with pytest.raises(TypeError, match='mean: weights must have the dtype of x \\(float64\\), '
                                        'got float32'):
        F.mean(x, axis=1, weights=xp.ones(4, numpy.float32))
