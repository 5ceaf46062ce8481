import numpy
import pytest

import dchain.functions as F
from dchain.testing import assert_allclose, check_backward


def _softplus(x):
    return numpy.log1p(numpy.exp(x))


def _fixed_sampler(xp):
    def sample(shape):
        return xp.asarray((numpy.arange(int(numpy.prod(shape))) % 5).reshape(shape),
                          dtype=numpy.int32)
    return sample


@pytest.mark.parametrize('reduce', ['sum', 'no'])
def test_negative_sampling(xp, rng, reduce):
    x = rng.standard_normal((4, 3))
    W = rng.standard_normal((5, 3))
    t = numpy.array([1, -1, 4, 0], numpy.int32)
    loss, samples = F.negative_sampling(xp.asarray(x), xp.asarray(t), xp.asarray(W),
                                        _fixed_sampler(xp), 2, reduce=reduce,
                                        return_samples=True)
    samples = numpy.asarray(samples.get() if hasattr(samples, 'get') else samples)
    assert samples.shape == (4, 3) and (samples[:, 0] == t).all()
    expected = numpy.zeros(4)
    for i in range(4):
        if t[i] == -1:
            continue
        expected[i] = _softplus(-x[i] @ W[t[i]]) + sum(_softplus(x[i] @ W[s])
                                                       for s in samples[i, 1:])
    assert_allclose(loss.data, expected.sum() if reduce == 'sum' else expected, atol=1e-10)
    gy = None if reduce == 'sum' else xp.asarray(rng.standard_normal(4))
    check_backward(lambda a, b: F.negative_sampling(a, xp.asarray(t), b, _fixed_sampler(xp), 2,
                                                    reduce=reduce),
                   (xp.asarray(x), xp.asarray(W)), gy)


def test_negative_sampling_refuses_bad_input():
    x, W = numpy.zeros((2, 3)), numpy.zeros((5, 3))
    sampler = _fixed_sampler(numpy)
    with pytest.raises(ValueError, match='negative_sampling: x .B, D., t .B,. and W'):
        F.negative_sampling(x, numpy.zeros(3, numpy.int32), W, sampler, 2)
    with pytest.raises(TypeError, match='negative_sampling: t must be an int32'):
        F.negative_sampling(x, numpy.zeros(2), W, sampler, 2)
    with pytest.raises(ValueError, match="negative_sampling: reduce must be 'sum' or 'no'"):
        F.negative_sampling(x, numpy.zeros(2, numpy.int32), W, sampler, 2, reduce='mean')
