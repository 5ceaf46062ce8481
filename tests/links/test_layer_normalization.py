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


def layer_norm_reference(x, gamma, beta, eps):
    x = x.astype(numpy.float64)
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return gamma.astype(numpy.float64) * (x - mean) / numpy.sqrt(var + eps) + beta


@pytest.mark.parametrize('shape', [(3, 4), (5, 7), (1, 16)])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
@pytest.mark.parametrize('lazy', [False, True])
def test_forward_and_backward(xp, rng, shape, dtype, lazy):
    size = shape[1]
    link = L.LayerNormalization(None if lazy else size,
                                initial_gamma=initializers.Uniform(1.0, dtype=dtype),
                                initial_beta=initializers.Uniform(1.0, dtype=dtype))
    link.to_device(_device(xp))
    assert (link.gamma.data is None) == lazy
    x = xp.asarray(rng.normal(1.0, 2.0, shape), dtype=dtype)
    y = link(x)
    assert link.gamma.shape == (size,) and link.beta.shape == (size,)
    assert y.shape == shape and y.dtype == dtype
    to_cpu = dchain.backend.to_cpu
    expected = layer_norm_reference(to_cpu(x), to_cpu(link.gamma.data), to_cpu(link.beta.data),
                                    link.eps)
    assert_allclose(y.data, expected, **TOL[dtype])
    gy = xp.asarray(rng.uniform(-1, 1, shape), dtype=dtype)
    check_backward(link, x, gy, params=(link.gamma, link.beta), **TOL[dtype])


def test_defaults():
    link = L.LayerNormalization(5)
    assert link.eps == 1e-6
    assert (link.gamma.data == 1).all() and (link.beta.data == 0).all()
    assert link.gamma.dtype == numpy.float32
    assert sorted(p for p, _ in link.namedparams()) == ['/beta', '/gamma']
    x = numpy.arange(10, dtype=numpy.float32).reshape(2, 5)
    y = link(x).data
    assert_allclose(y.mean(axis=1), numpy.zeros(2), atol=1e-6)
    assert_allclose(y.std(axis=1), numpy.ones(2), rtol=1e-4)


def test_errors():
    with pytest.raises(ValueError, match='LayerNormalization: eps must be positive, got -1'):
        L.LayerNormalization(3, eps=-1)
    with pytest.raises(ValueError, match=r'LayerNormalization: x must have 2 dimensions '
                                         r'\(N, size\), got shape \(2, 3, 4\)'):
        L.LayerNormalization()(numpy.ones((2, 3, 4), numpy.float32))
