"""F.identity: the same arrays as new Variables, gradients passed through unchanged."""
import numpy
import pytest

import dchain
import dchain.functions as F
from dchain.testing import check_backward


def test_identity_returns_new_variables_with_the_same_values(xp):
    x = xp.arange(6, dtype=numpy.float32).reshape(2, 3)
    v = dchain.Variable(x)
    y = F.identity(v)
    assert y is not v and y.creator is not None
    assert (dchain.backend.to_cpu(y.data) == dchain.backend.to_cpu(x)).all()
    a, b = F.identity(v, xp.ones(4, numpy.float64))
    assert a.shape == (2, 3) and b.dtype == numpy.float64


def test_identity_backward(xp, rng):
    x = xp.asarray(rng.uniform(-1, 1, (3, 2)))
    w = xp.asarray(rng.uniform(-1, 1, (4,)))
    gx = xp.asarray(rng.uniform(-1, 1, (3, 2)))
    gw = xp.asarray(rng.uniform(-1, 1, (4,)))
    check_backward(lambda a, b: F.identity(a, b), (x, w), (gx, gw))
    check_backward(F.identity, (x,), gx)


def test_identity_needs_an_input():
    with pytest.raises(TypeError, match='identity: expected at least one input'):
        F.identity()
