import numpy
import pytest

import dchain
import dchain.functions as F
from dchain import backend
from dchain.testing import assert_allclose, check_backward, check_double_backward

TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-4, rtol=1e-3),
       numpy.float64: dict(atol=1e-6, rtol=1e-5)}


def reference_embed(x, W, ignore_label):
    x, W = backend.to_cpu(x), backend.to_cpu(W)
    y = numpy.zeros(x.shape + (W.shape[1],), W.dtype)
    for position in numpy.ndindex(*x.shape):
        if x[position] != ignore_label:
            y[position] = W[x[position]]
    return y


def reference_grad(x, gy, n_vocab, ignore_label):
    x, gy = backend.to_cpu(x), backend.to_cpu(gy).astype(numpy.float64)
    gW = numpy.zeros((n_vocab, gy.shape[-1]))
    for position in numpy.ndindex(*x.shape):
        if x[position] != ignore_label:
            gW[x[position]] += gy[position]
    return gW


@pytest.mark.parametrize('x_shape', [(5,), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize('ignore_label', [None, -1, 2])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
@pytest.mark.parametrize('id_dtype', [numpy.int32, numpy.int64])
def test_embed_id(xp, rng, x_shape, ignore_label, dtype, id_dtype):
    n_vocab = 6
    ids = rng.integers(0, n_vocab, x_shape)
    if ignore_label is not None:
        ids.reshape(-1)[::3] = ignore_label
    x = xp.asarray(ids, dtype=id_dtype)
    W = xp.asarray(rng.uniform(-1, 1, (n_vocab, 3)), dtype=dtype)
    y = F.embed_id(x, W, ignore_label=ignore_label)
    assert y.shape == x_shape + (3,) and y.dtype == dtype
    assert_allclose(y.data, reference_embed(x, W, ignore_label), atol=0, rtol=0)

    gy = xp.asarray(rng.uniform(-1, 1, y.shape), dtype=dtype)
    Wv = dchain.Variable(W)
    y = F.embed_id(x, Wv, ignore_label=ignore_label)
    y.grad = gy
    y.backward()
    assert_allclose(Wv.grad, reference_grad(x, gy, n_vocab, ignore_label), **TOL[dtype])
    check_backward(lambda W: F.embed_id(x, W, ignore_label), W, gy, **TOL[dtype])


def test_repeated_ids_accumulate(xp):
    x = xp.asarray([1, 1, 1, 0], numpy.int32)
    W = dchain.Variable(xp.zeros((3, 2), numpy.float32))
    y = F.embed_id(x, W)
    y.grad = xp.ones((4, 2), numpy.float32)
    y.backward()
    assert_allclose(W.grad, numpy.array([[1, 1], [3, 3], [0, 0]], numpy.float32))


def test_double_backward(xp, rng):
    x = xp.asarray([[0, 2, 2], [1, -1, 0]], numpy.int32)
    W = xp.asarray(rng.uniform(-1, 1, (3, 4)))
    gy = xp.asarray(rng.uniform(-1, 1, (2, 3, 4)))
    # Squared, so the gradient depends on W and its own backward is exercised through gy and W.
    check_double_backward(lambda W: F.embed_id(x, W, ignore_label=-1) ** 2, W, gy,
                          xp.asarray(rng.uniform(-1, 1, (3, 4))))


def test_integer_variable_input(xp):
    # An integer Variable that asks for a gradient gets none, and W still gets its own.
    x = dchain.Variable(xp.asarray([0, 1], numpy.int32))
    W = dchain.Variable(xp.ones((2, 3), numpy.float32))
    F.sum(F.embed_id(x, W)).backward()
    assert x.grad is None
    assert_allclose(W.grad, numpy.ones((2, 3)))


def test_float_ids_are_refused(xp):
    with pytest.raises(TypeError, match='embed_id: x must be an array of signed integer ids, '
                                        'got float32'):
        F.embed_id(xp.zeros(3, numpy.float32), xp.ones((4, 2), numpy.float32))


def test_unsigned_ids_are_refused(xp):
    with pytest.raises(TypeError, match='embed_id: x must be an array of signed integer ids, '
                                        'got uint8'):
        F.embed_id(xp.zeros(3, numpy.uint8), xp.ones((4, 2), numpy.float32))


def test_bad_W(xp):
    x = xp.zeros(3, numpy.int32)
    with pytest.raises(TypeError, match='embed_id: W must be a float array, got int32'):
        F.embed_id(x, xp.ones((4, 2), numpy.int32))
    with pytest.raises(ValueError, match=r'embed_id: W must be a 2-D array \(n_vocab, n_units\), '
                                         r'got shape \(4,\)'):
        F.embed_id(x, xp.ones(4, numpy.float32))


@pytest.mark.parametrize('ids,ignore_label,message', [
    ([0, 4, 1], None, r'embed_id: ids in x must be in \[0, 4\), got ids from 0 to 4'),
    ([0, -1, 1], None, r'embed_id: ids in x must be in \[0, 4\), got ids from -1 to 1'),
    ([0, -2, -1], -1, r'in \[0, 4\) or equal ignore_label=-1, got ids from -2 to 0'),
])
def test_out_of_range_ids(xp, ids, ignore_label, message):
    W = xp.ones((4, 2), numpy.float32)
    with dchain.using_config('debug', True):
        with pytest.raises(ValueError, match=message):
            F.embed_id(xp.asarray(ids, numpy.int32), W, ignore_label=ignore_label)
