import numpy
import pytest

import dchain
import dchain.functions as F
from dchain.backend import to_cpu
from dchain.testing import assert_allclose, check_backward, check_double_backward

DTYPES = [numpy.float16, numpy.float32, numpy.float64]
TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-4, rtol=1e-3),
       numpy.float64: dict(atol=1e-6, rtol=1e-5)}


def _uniform(xp, rng, shape, dtype=numpy.float64):
    return xp.asarray(rng.uniform(-1, 1, shape), dtype=dtype)


def _check(xp, rng, func, x, reference, dtype=numpy.float64, double=True):
    """Forward against ``reference`` (exact: these ops only move values), then gradients."""
    y = func(x)
    expected = reference(to_cpu(x))
    assert y.shape == expected.shape and y.dtype == expected.dtype
    assert_allclose(y.data, expected, atol=0, rtol=0)
    gy = _uniform(xp, rng, y.shape, dtype)
    check_backward(func, x, gy, **TOL[dtype])
    if double and dtype == numpy.float64:
        check_double_backward(lambda v: func(v) * 1.0, x, gy, _uniform(xp, rng, x.shape))


# -- reshape, flatten, expand_dims, squeeze ----------------------------------------------------
@pytest.mark.parametrize('shape,new_shape', [
    ((3, 4), (4, 3)), ((3, 4), (-1,)), ((2, 3, 4), (6, -1)), ((2, 3, 4), (-1, 3, 2)), ((1,), ())])
@pytest.mark.parametrize('dtype', DTYPES)
def test_reshape(xp, rng, shape, new_shape, dtype):
    x = _uniform(xp, rng, shape, dtype)
    _check(xp, rng, lambda v: F.reshape(v, new_shape), x, lambda a: a.reshape(new_shape), dtype)


def test_reshape_method_and_errors(xp):
    x = dchain.Variable(xp.zeros((2, 6)))
    assert x.reshape(3, -1).shape == (3, 4)
    assert x.reshape((4, 3)).shape == (4, 3)
    assert F.reshape(x, (2, 6)) is x
    with pytest.raises(ValueError, match=r'reshape: cannot reshape an array of shape \(2, 6\) '
                                         r'into \(5, -1\)'):
        F.reshape(x, (5, -1))


def test_flatten(xp, rng):
    x = _uniform(xp, rng, (2, 3, 4))
    _check(xp, rng, F.flatten, x, lambda a: a.reshape(-1))


@pytest.mark.parametrize('shape,axis', [((3, 4), 0), ((3, 4), 2), ((3, 4), -1), ((3, 4), -3),
                                        ((), 0)])
def test_expand_dims(xp, rng, shape, axis):
    x = _uniform(xp, rng, shape)
    _check(xp, rng, lambda v: F.expand_dims(v, axis), x, lambda a: numpy.expand_dims(a, axis))


@pytest.mark.parametrize('shape,axis', [((1, 3, 1), None), ((1, 3, 1), 0), ((1, 3, 1), -1),
                                        ((1, 3, 1), (0, 2)), ((1,), None)])
def test_squeeze(xp, rng, shape, axis):
    x = _uniform(xp, rng, shape)
    _check(xp, rng, lambda v: F.squeeze(v, axis), x, lambda a: numpy.squeeze(a, axis))


def test_expand_dims_and_squeeze_errors(xp):
    x = xp.zeros((1, 3))
    with pytest.raises(ValueError, match=r'expand_dims: axis must be in \[-3, 3\), got 3'):
        F.expand_dims(x, 3)
    with pytest.raises(ValueError, match=r'expand_dims: axis must be in \[-3, 3\), got -4'):
        F.expand_dims(x, -4)
    with pytest.raises(ValueError, match=r'squeeze: axis 1 of shape \(1, 3\) does not have '
                                         r'length 1'):
        F.squeeze(x, 1)
    with pytest.raises(ValueError, match=r'squeeze: axis 2 is out of range for shape \(1, 3\)'):
        F.squeeze(x, 2)
    with pytest.raises(ValueError, match=r'squeeze: axis -3 is out of range'):
        F.squeeze(x, (0, -3))


# -- transpose, swapaxes -----------------------------------------------------------------------
@pytest.mark.parametrize('shape,axes', [((3, 4), None), ((2, 3, 4), None), ((2, 3, 4), (1, 2, 0)),
                                        ((2, 3, 4), (-1, 0, 1)), ((2, 3, 4), (0, 1, 2)),
                                        ((5,), (0,))])
@pytest.mark.parametrize('dtype', DTYPES)
def test_transpose(xp, rng, shape, axes, dtype):
    x = _uniform(xp, rng, shape, dtype)
    _check(xp, rng, lambda v: F.transpose(v, axes), x, lambda a: a.transpose(axes), dtype)


def test_transpose_method_and_property(xp, rng):
    x = dchain.Variable(_uniform(xp, rng, (2, 3, 4)))
    assert x.T.shape == (4, 3, 2)
    assert x.transpose(1, 0, 2).shape == (3, 2, 4)
    assert x.transpose((2, 0, 1)).shape == (4, 2, 3)


@pytest.mark.parametrize('axes', [(0, 3), (1, 1), (0, 1, 2), (0, -3), (1,)])
def test_transpose_refuses_bad_axes(xp, axes):
    with pytest.raises(ValueError, match=r'transpose: axes must be a permutation of the 2 axes, '
                                         r'got \({},'.format(axes[0])):
        F.transpose(xp.zeros((2, 3)), axes)


@pytest.mark.parametrize('axis1,axis2', [(0, 2), (2, 0), (-1, 1), (1, 1)])
def test_swapaxes(xp, rng, axis1, axis2):
    x = _uniform(xp, rng, (2, 3, 4))
    _check(xp, rng, lambda v: F.swapaxes(v, axis1, axis2), x,
           lambda a: numpy.swapaxes(a, axis1, axis2))


def test_swapaxes_refuses_bad_axes(xp):
    with pytest.raises(ValueError, match='swapaxes: axis 3 is out of range for 3 dimensions'):
        F.swapaxes(xp.zeros((2, 3, 4)), 0, 3)


# -- get_item ----------------------------------------------------------------------------------
def _index(xp, kind):
    """Index expressions for an array of shape (4, 5, 3), built on the device of the input."""
    return {
        'int': 1,
        'negative_int': -1,
        'slice': slice(1, 3),
        'step': slice(None, None, -2),
        'tuple': (1, slice(None), 2),
        'none': (None, slice(1, 3), None),
        'ellipsis': (Ellipsis, 0),
        'ellipsis_none': (0, Ellipsis, None),
        'int_array': xp.asarray([0, 2, 3]),
        'repeats': xp.asarray([1, 1, 3, 1]),
        'int_array_axis': (slice(None), xp.asarray([4, 0, 4])),
        'two_arrays': (xp.asarray([0, 3, 0]), xp.asarray([1, 1, 1])),
        'mask': xp.asarray([True, False, True, True]),
        'mask_2d': xp.asarray(numpy.arange(20).reshape(4, 5) % 3 == 0),
        'list': [2, 0, 2],
    }[kind]


KINDS = ['int', 'negative_int', 'slice', 'step', 'tuple', 'none', 'ellipsis', 'ellipsis_none',
         'int_array', 'repeats', 'int_array_axis', 'two_arrays', 'mask', 'mask_2d', 'list']


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_get_item(xp, rng, kind, dtype):
    x = _uniform(xp, rng, (4, 5, 3), dtype)
    index = _index(xp, kind)
    host_index = to_cpu(index) if not isinstance(index, tuple) else tuple(to_cpu(list(index)))
    _check(xp, rng, lambda v: F.get_item(v, index), x, lambda a: a[host_index], dtype)
    # The operator goes through the same function.
    assert_allclose(dchain.Variable(x)[index].data, to_cpu(x)[host_index], atol=0, rtol=0)


def test_get_item_gradient_accumulates_repeated_indices(xp):
    x = dchain.Variable(xp.zeros((4, 2)))
    y = x[xp.asarray([1, 1, 3, 1])]
    y.grad = xp.asarray([[1.0, 2.0], [10.0, 20.0], [5.0, 5.0], [100.0, 200.0]])
    y.backward()
    assert_allclose(x.grad, [[0, 0], [111, 222], [0, 0], [5, 5]], atol=0, rtol=0)


def test_get_item_gradient_of_a_boolean_mask(xp):
    x = dchain.Variable(xp.zeros((2, 3)))
    mask = xp.asarray([[True, False, True], [False, False, True]])
    F.sum(x[mask] * xp.asarray([1.0, 2.0, 3.0])).backward()
    assert_allclose(x.grad, [[1, 0, 2], [0, 0, 3]], atol=0, rtol=0)


def test_get_item_out_of_range(xp):
    with pytest.raises(IndexError, match=r'get_item: index 5 is out of range for shape \(4, 2\)'):
        F.get_item(xp.zeros((4, 2)), 5)


# -- broadcast_to, sum_to, broadcast -----------------------------------------------------------
@pytest.mark.parametrize('shape,target', [((3, 1), (3, 4)), ((4,), (2, 3, 4)), ((), (2, 2)),
                                          ((1, 3, 1), (2, 3, 4)), ((3, 4), (3, 4))])
@pytest.mark.parametrize('dtype', DTYPES)
def test_broadcast_to_and_sum_to(xp, rng, shape, target, dtype):
    x = _uniform(xp, rng, shape, dtype)
    _check(xp, rng, lambda v: F.broadcast_to(v, target), x,
           lambda a: numpy.broadcast_to(a, target), dtype)
    big = _uniform(xp, rng, target, dtype)
    y = F.sum_to(big, shape)
    expected = to_cpu(big).astype(numpy.float64).sum(axis=tuple(range(len(target) - len(shape))))
    expected = expected.sum(axis=tuple(i for i, n in enumerate(shape) if expected.shape[i] != n),
                            keepdims=True)
    assert y.shape == shape and y.dtype == dtype
    assert_allclose(y.data, expected, **TOL[dtype])
    gy = _uniform(xp, rng, shape, dtype)
    check_backward(lambda v: F.sum_to(v, shape), big, gy, **TOL[dtype])
    if dtype == numpy.float64:
        check_double_backward(lambda v: F.sum_to(v, shape) * 1.0, big, gy,
                              _uniform(xp, rng, target))


def test_broadcast(xp, rng):
    a, b = _uniform(xp, rng, (3, 1)), _uniform(xp, rng, (4,))
    ya, yb = F.broadcast(a, b)
    assert ya.shape == yb.shape == (3, 4)
    assert_allclose(ya.data, numpy.broadcast_to(to_cpu(a), (3, 4)), atol=0, rtol=0)
    check_backward(lambda u, v: F.broadcast(u, v), (a, b),
                   (_uniform(xp, rng, (3, 4)), _uniform(xp, rng, (3, 4))))


def test_broadcast_to_and_sum_to_errors(xp):
    with pytest.raises(ValueError, match=r'broadcast_to: cannot broadcast shape \(3,\) to '
                                         r'\(2, 4\)'):
        F.broadcast_to(xp.zeros(3), (2, 4))
    with pytest.raises(ValueError, match=r'sum_to: cannot sum shape \(3,\) to the larger shape '
                                         r'\(2, 3\)'):
        F.sum_to(xp.zeros(3), (2, 3))
    with pytest.raises(ValueError, match=r'sum_to: cannot sum shape \(2, 3\) to \(2,\)'):
        F.sum_to(xp.zeros((2, 3)), (2,))


# -- concat, split_axis ------------------------------------------------------------------------
@pytest.mark.parametrize('shapes,axis', [([(2, 3), (2, 4)], 1), ([(2, 3), (1, 3), (4, 3)], 0),
                                         ([(2, 3, 1), (2, 3, 2)], -1), ([(5,)], 0),
                                         ([(2, 0), (2, 3)], 1)])
@pytest.mark.parametrize('dtype', DTYPES)
def test_concat(xp, rng, shapes, axis, dtype):
    xs = tuple(_uniform(xp, rng, shape, dtype) for shape in shapes)
    y = F.concat(xs, axis=axis)
    expected = numpy.concatenate([to_cpu(x) for x in xs], axis=axis)
    assert y.dtype == dtype
    assert_allclose(y.data, expected, atol=0, rtol=0)
    gy = _uniform(xp, rng, y.shape, dtype)
    check_backward(lambda *v: F.concat(v, axis=axis), xs, gy, **TOL[dtype])
    if dtype == numpy.float64:
        check_double_backward(lambda *v: F.concat(v, axis=axis) * 1.0, xs, gy,
                              tuple(_uniform(xp, rng, shape) for shape in shapes))


def test_concat_default_axis_is_1(xp):
    assert F.concat([xp.zeros((2, 3)), xp.zeros((2, 5))]).shape == (2, 8)


def test_concat_errors(xp):
    a = xp.zeros((2, 3), numpy.float32)
    with pytest.raises(TypeError, match=r'concat: every input must have the dtype of xs\[0\] '
                                        r'\(float32\), xs\[1\] has float64'):
        F.concat([a, xp.zeros((2, 3))])
    with pytest.raises(ValueError, match=r'concat: shapes must agree except on axis 1, got '
                                         r'xs\[0\] of shape \(2, 3\) and xs\[1\] of shape '
                                         r'\(3, 3\)'):
        F.concat([a, xp.zeros((3, 3), numpy.float32)])
    with pytest.raises(ValueError, match='concat: shapes must agree except on axis 0'):
        F.concat([a, xp.zeros((2, 3, 1), numpy.float32)], axis=0)
    with pytest.raises(ValueError, match='concat: axis 2 is out of range for 2 dimensions'):
        F.concat([a, a], axis=2)
    with pytest.raises(ValueError, match='concat: xs must hold at least one variable, got none'):
        F.concat([])
    with pytest.raises(TypeError, match='concat: xs must be a list or tuple of variables, got '
                                        'ndarray'):
        F.concat(numpy.zeros((2, 3)))


@pytest.mark.parametrize('shape,indices_or_sections,axis', [
    ((6, 2), 3, 0), ((2, 6), [1, 4], 1), ((2, 6), (0, 2, 2, 6), 1), ((2, 3, 4), 2, -1),
    ((4, 3), numpy.array([1, 3]), 0), ((5,), 1, 0)])
@pytest.mark.parametrize('dtype', DTYPES)
def test_split_axis(xp, rng, shape, indices_or_sections, axis, dtype):
    x = _uniform(xp, rng, shape, dtype)
    ys = F.split_axis(x, indices_or_sections, axis)
    expected = numpy.split(to_cpu(x), indices_or_sections, axis)
    assert isinstance(ys, tuple) and len(ys) == len(expected)
    for y, e in zip(ys, expected):
        assert y.shape == e.shape and y.dtype == dtype
        assert_allclose(y.data, e, atol=0, rtol=0)
    gys = tuple(_uniform(xp, rng, e.shape, dtype) for e in expected)
    check_backward(lambda v: F.split_axis(v, indices_or_sections, axis), x, gys, **TOL[dtype])
    if dtype == numpy.float64:
        check_double_backward(
            lambda v: tuple(y * 1.0 for y in F.split_axis(v, indices_or_sections, axis)),
            x, gys, _uniform(xp, rng, shape))


def test_split_axis_unused_pieces_get_zero_gradient(xp):
    x = dchain.Variable(xp.ones((2, 6)))
    a, b, c = F.split_axis(x, 3, axis=1)
    F.sum(b * 2.0).backward()
    assert_allclose(x.grad, [[0, 0, 2, 2, 0, 0]] * 2, atol=0, rtol=0)


def test_split_axis_force_tuple(xp):
    x = xp.zeros((2, 4))
    single = F.split_axis(x, 1, 1, force_tuple=False)
    assert isinstance(single, dchain.Variable) and single.shape == (2, 4)
    assert isinstance(F.split_axis(x, 1, 1), tuple)
    assert isinstance(F.split_axis(x, 2, 1, force_tuple=False), tuple)


def test_split_axis_errors(xp):
    x = xp.zeros((2, 6))
    with pytest.raises(ValueError, match='split_axis: 4 sections must evenly divide axis 1 of '
                                         'length 6'):
        F.split_axis(x, 4, 1)
    with pytest.raises(ValueError, match=r'split_axis: indices must be sorted and within '
                                         r'\[0, 6\], got \[3, 1\]'):
        F.split_axis(x, [3, 1], 1)
    with pytest.raises(ValueError, match=r'within \[0, 6\], got \[2, 7\]'):
        F.split_axis(x, [2, 7], 1)
    with pytest.raises(ValueError, match='split_axis: axis 2 is out of range for 2 dimensions'):
        F.split_axis(x, 2, 2)
    with pytest.raises(TypeError, match='split_axis: indices_or_sections must be an int or a '
                                        'sequence of ints, got float'):
        F.split_axis(x, 2.0, 1)


# -- stack, separate ---------------------------------------------------------------------------
@pytest.mark.parametrize('shape,count,axis', [((2, 3), 3, 0), ((2, 3), 2, 1), ((2, 3), 4, 2),
                                              ((2, 3), 2, -1), ((2, 3), 2, -3), ((), 3, 0)])
@pytest.mark.parametrize('dtype', DTYPES)
def test_stack(xp, rng, shape, count, axis, dtype):
    xs = tuple(_uniform(xp, rng, shape, dtype) for _ in range(count))
    y = F.stack(xs, axis=axis)
    assert y.dtype == dtype
    assert_allclose(y.data, numpy.stack([to_cpu(x) for x in xs], axis=axis), atol=0, rtol=0)
    gy = _uniform(xp, rng, y.shape, dtype)
    check_backward(lambda *v: F.stack(v, axis=axis), xs, gy, **TOL[dtype])
    if dtype == numpy.float64:
        check_double_backward(lambda *v: F.stack(v, axis=axis) * 1.0, xs, gy,
                              tuple(_uniform(xp, rng, shape) for _ in range(count)))


def test_stack_errors(xp):
    a = xp.zeros((2, 3), numpy.float32)
    with pytest.raises(ValueError, match=r'stack: every input must have the shape of xs\[0\] '
                                         r'\(2, 3\), xs\[1\] has \(3, 2\)'):
        F.stack([a, xp.zeros((3, 2), numpy.float32)])
    with pytest.raises(TypeError, match=r'stack: every input must have the dtype of xs\[0\] '
                                        r'\(float32\), xs\[1\] has int32'):
        F.stack([a, xp.zeros((2, 3), numpy.int32)])
    with pytest.raises(ValueError, match='stack: axis 3 is out of range for stacking '
                                         '2-dimensional inputs'):
        F.stack([a, a], axis=3)
    with pytest.raises(ValueError, match='stack: xs must hold at least one variable'):
        F.stack(())


@pytest.mark.parametrize('shape,axis', [((3, 4), 0), ((3, 4), 1), ((2, 3, 4), -1), ((4,), 0)])
@pytest.mark.parametrize('dtype', DTYPES)
def test_separate(xp, rng, shape, axis, dtype):
    x = _uniform(xp, rng, shape, dtype)
    ys = F.separate(x, axis=axis)
    expected = [numpy.take(to_cpu(x), i, axis=axis) for i in range(shape[axis])]
    assert isinstance(ys, tuple) and len(ys) == shape[axis]
    for y, e in zip(ys, expected):
        assert y.shape == e.shape and y.dtype == dtype
        assert_allclose(y.data, e, atol=0, rtol=0)
    gys = tuple(_uniform(xp, rng, e.shape, dtype) for e in expected)
    check_backward(lambda v: F.separate(v, axis), x, gys, **TOL[dtype])
    if dtype == numpy.float64:
        check_double_backward(lambda v: tuple(y * 1.0 for y in F.separate(v, axis)), x, gys,
                              _uniform(xp, rng, shape))


def test_separate_unused_pieces_and_errors(xp):
    x = dchain.Variable(xp.ones((3, 2)))
    first, _, third = F.separate(x)
    F.sum(first + third * 3.0).backward()
    assert_allclose(x.grad, [[1, 1], [0, 0], [3, 3]], atol=0, rtol=0)
    with pytest.raises(ValueError, match=r'separate: axis 2 is out of range for x of shape '
                                         r'\(3, 2\)'):
        F.separate(x, 2)


# -- pad ---------------------------------------------------------------------------------------
@pytest.mark.parametrize('shape,pad_width', [
    ((3, 4), 1), ((3, 4), (1, 2)), ((3, 4), ((0, 1), (2, 0))),
    ((2, 3, 4), ((1, 1), (0, 0), (3, 1))), ((5,), ((2, 0),))])
@pytest.mark.parametrize('mode', ['constant', 'edge', 'reflect', 'symmetric', 'wrap'])
@pytest.mark.parametrize('dtype', DTYPES)
def test_pad(xp, rng, shape, pad_width, mode, dtype):
    x = _uniform(xp, rng, shape, dtype)
    _check(xp, rng, lambda v: F.pad(v, pad_width, mode=mode), x,
           lambda a: numpy.pad(a, pad_width, mode=mode), dtype)


def test_pad_constant_values(xp, rng):
    x = _uniform(xp, rng, (2, 3))
    _check(xp, rng, lambda v: F.pad(v, 1, constant_values=7.5), x,
           lambda a: numpy.pad(a, 1, constant_values=7.5))
    # The gradient of the padding itself is zero: only the original elements receive it.
    v = dchain.Variable(x)
    F.sum(F.pad(v, ((1, 2), (0, 1)))).backward()
    assert_allclose(v.grad, numpy.ones((2, 3)), atol=0, rtol=0)


def test_pad_errors(xp):
    x = xp.zeros((2, 3))
    with pytest.raises(ValueError, match=r'pad: pad_width must not be negative, got \(1, -1\)'):
        F.pad(x, (1, -1))
    with pytest.raises(ValueError, match=r'pad: pad_width must be an int, a \(before, after\) '
                                         r'pair or one pair per axis of 2 axes'):
        F.pad(x, ((1, 1), (1, 1), (1, 1)))
    with pytest.raises(TypeError, match='pad: pad_width must hold integers, got 1.5'):
        F.pad(x, 1.5)
    with pytest.raises(ValueError, match="pad: mode must be 'constant' or one of 'edge', "
                                         "'reflect', 'symmetric', 'wrap', got 'mean'"):
        F.pad(x, 1, mode='mean')
    with pytest.raises(ValueError, match=r"pad: cannot pad the empty axis 1 of x of shape "
                                         r"\(2, 0\) in 'edge' mode"):
        F.pad(xp.zeros((2, 0)), 1, mode='edge')


# -- where -------------------------------------------------------------------------------------
@pytest.mark.parametrize('shapes', [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)),
                                    ((3, 1), (3, 4), ()), ((2, 3, 4), (3, 4), (2, 1, 1))])
@pytest.mark.parametrize('dtype', DTYPES)
def test_where(xp, rng, shapes, dtype):
    condition = xp.asarray(rng.uniform(size=shapes[0]) > 0.5)
    x, y = _uniform(xp, rng, shapes[1], dtype), _uniform(xp, rng, shapes[2], dtype)
    out = F.where(condition, x, y)
    expected = numpy.where(to_cpu(condition), to_cpu(x), to_cpu(y))
    assert out.shape == expected.shape and out.dtype == dtype
    assert_allclose(out.data, expected, atol=0, rtol=0)
    gy = _uniform(xp, rng, expected.shape, dtype)
    check_backward(lambda a, b: F.where(condition, a, b), (x, y), gy, **TOL[dtype])
    if dtype == numpy.float64:
        check_double_backward(lambda a, b: F.where(condition, a, b) * 1.0, (x, y), gy,
                              (_uniform(xp, rng, shapes[1]), _uniform(xp, rng, shapes[2])))


def test_where_gradient_values_and_scalars(xp):
    condition = dchain.Variable(xp.asarray([True, False, True]))
    x = dchain.Variable(xp.asarray([1.0, 2.0, 3.0], numpy.float32))
    y = F.where(condition, x, 0)
    assert y.dtype == numpy.float32
    assert_allclose(y.data, [1, 0, 3], atol=0, rtol=0)
    F.sum(y * xp.asarray([5.0, 6.0, 7.0], numpy.float32)).backward()
    assert_allclose(x.grad, [5, 0, 7], atol=0, rtol=0)
    assert_allclose(F.where(condition.data, -1.5, x).data, [-1.5, 2, -1.5], atol=0, rtol=0)


def test_where_errors(xp):
    x = xp.zeros(3, numpy.float32)
    with pytest.raises(TypeError, match='where: condition must be a boolean array, got float32'):
        F.where(xp.ones(3, numpy.float32), x, x)
    with pytest.raises(TypeError, match='where: condition must be a boolean array, got int64'):
        F.where(xp.ones(3, numpy.int64), x, x)
    with pytest.raises(TypeError, match='where: condition must be a boolean array, got list'):
        F.where([True, False, True], x, x)
    condition = xp.ones(3, bool)
    with pytest.raises(TypeError, match='where: x and y must have the same dtype, got float32 '
                                        'and float64'):
        F.where(condition, x, xp.zeros(3))
    with pytest.raises(ValueError, match=r'where: condition of shape \(3,\), x of shape \(3,\) '
                                         r'and y of shape \(2,\) cannot be broadcast together'):
        F.where(condition, x, xp.zeros(2, numpy.float32))
    with pytest.raises(TypeError, match='where: cannot combine the non-integer constant 0.5 with '
                                        'a int32 variable'):
        F.where(condition, xp.zeros(3, numpy.int32), 0.5)


# -- cast --------------------------------------------------------------------------------------
@pytest.mark.parametrize('source,target', [(numpy.float32, numpy.float64),
                                           (numpy.float64, numpy.float16),
                                           (numpy.float16, 'float32')])
def test_cast_between_floats(xp, rng, source, target):
    x = _uniform(xp, rng, (3, 4), source)
    y = F.cast(x, target)
    assert y.dtype == numpy.dtype(target)
    assert_allclose(y.data, to_cpu(x).astype(target), atol=0, rtol=0)
    v = dchain.Variable(x)
    F.sum(F.cast(v, target) * 2.0).backward()
    assert v.grad.dtype == source
    assert_allclose(v.grad, numpy.full((3, 4), 2.0), atol=0, rtol=0)
    tolerance = TOL[numpy.float16] if numpy.float16 in (source, numpy.dtype(target).type) \
        else TOL[numpy.float32]
    # Central differences through a float16 output need a step well above its rounding.
    eps = 0.1 if numpy.dtype(target) == numpy.float16 else 1e-3
    check_backward(lambda u: F.cast(u, target), x, _uniform(xp, rng, (3, 4), target), eps=eps,
                   **tolerance)


def test_cast_to_the_same_dtype_returns_the_input(xp):
    v = dchain.Variable(xp.zeros(3, numpy.float32))
    assert F.cast(v, numpy.float32) is v
    assert F.cast(v, 'float32') is v
    array = xp.zeros(3, numpy.float32)
    assert F.cast(array, numpy.float32).data is array


def test_cast_to_integers_carries_no_gradient(xp):
    v = dchain.Variable(xp.asarray([1.7, -2.2]))
    y = F.cast(v, numpy.int32)
    assert y.dtype == numpy.int32
    assert_allclose(y.data, [1, -2], atol=0, rtol=0)
    y.grad = xp.ones(2, numpy.int32)
    y.backward()
    assert v.grad is None


def test_cast_refuses_a_non_dtype(xp):
    with pytest.raises(TypeError, match="cast: typ must be a dtype, got 'float99'"):
        F.cast(xp.zeros(3), 'float99')
