import numpy
import pytest

import dchain
import dchain.links as L
from dchain import initializers
from dchain.testing import assert_allclose, check_backward

TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-4, rtol=1e-3),
       numpy.float64: dict(atol=1e-5, rtol=1e-4)}


def _device(xp):
    return '@numpy' if xp is numpy else '@cupy:0'


def embed_reference(x, W, ignore_label):
    y = W.astype(numpy.float64)[numpy.where(x == ignore_label, 0, x)]
    if ignore_label is not None:
        y[x == ignore_label] = 0
    return y


@pytest.mark.parametrize('shape', [(4,), (3, 5), (2, 3, 2)])
@pytest.mark.parametrize('ignore_label', [None, -1, 2])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_forward_and_backward(xp, rng, shape, ignore_label, dtype):
    table = initializers.Constant(rng.uniform(-1, 1, (6, 3)), dtype=dtype)
    link = L.EmbedID(6, 3, initialW=table, ignore_label=ignore_label).to_device(_device(xp))
    assert link.W.shape == (6, 3) and link.W.dtype == dtype
    ids = rng.integers(0, 6, shape).astype(numpy.int32)
    if ignore_label is not None:
        ids.reshape(-1)[::3] = ignore_label
    x = xp.asarray(ids)
    y = link(x)
    assert y.shape == shape + (3,) and y.dtype == dtype
    assert_allclose(y.data, embed_reference(ids, dchain.backend.to_cpu(link.W.data),
                                            ignore_label), **TOL[dtype])
    gy = xp.asarray(rng.uniform(-1, 1, y.shape), dtype=dtype)
    check_backward(link, x, gy, params=(link.W,), **TOL[dtype])
    if ignore_label is not None and 0 <= ignore_label < 6:
        link.cleargrads()
        dchain.functions.sum(link(x) * gy).backward()
        assert (link.W.grad[ignore_label] == 0).all()  # the ignored ID occurs in x


def test_ignored_rows_get_no_gradient(rng):
    link = L.EmbedID(4, 2, ignore_label=1)
    x = numpy.array([1, 1, 3], numpy.int32)
    dchain.functions.sum(link(x)).backward()
    assert (link.W.grad[1] == 0).all() and (link.W.grad[0] == 0).all()
    assert (link.W.grad[3] == 1).all()


def test_default_initializer_is_standard_normal():
    dchain.random.seed(0)
    W = L.EmbedID(1000, 100).W.data
    assert W.dtype == numpy.float32
    assert abs(W.mean()) < 0.02 and abs(W.std() - 1) < 0.02


def test_paths_and_errors():
    model = dchain.Chain(embed=L.EmbedID(5, 2))
    assert [p for p, _ in model.namedparams()] == ['/embed/W']
    # An array is a Constant initializer: float32 unless the initializer names a dtype.
    assert L.EmbedID(3, 2, initialW=numpy.ones((3, 2))).W.dtype == numpy.float32
    with pytest.raises(ValueError, match='EmbedID: in_size must be a positive int, got None'):
        L.EmbedID(None, 3)
    with pytest.raises(ValueError, match='EmbedID: out_size must be a positive int, got 0'):
        L.EmbedID(3, 0)
