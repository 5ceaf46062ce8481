"""Normal, Bernoulli, Independent and kl_divergence: NumPy references and gradient checks."""
import math

import numpy
import pytest

import dchain
import dchain.distributions as D
from dchain.testing import assert_allclose, check_backward

RNG = numpy.random.default_rng(0)


def _data(*shape):
    return RNG.standard_normal(shape)


def _np_normal_log_prob(x, loc, scale):
    return -numpy.log(scale) - 0.5 * math.log(2 * math.pi) - (x - loc) ** 2 / (2 * scale ** 2)


def _np_sigmoid(a):
    return 1 / (1 + numpy.exp(-a))


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_normal_matches_numpy(xp, dtype):
    loc, log_scale, x = (xp.asarray(_data(3, 2), dtype) for _ in range(3))
    scale = numpy.exp(dchain.backend.to_cpu(log_scale).astype(numpy.float64))
    for d in (D.Normal(loc, log_scale=log_scale), D.Normal(loc, scale=xp.exp(log_scale))):
        assert d.batch_shape == (3, 2) and d.event_shape == ()
        lp = d.log_prob(x)
        assert lp.dtype == dtype
        np_loc, np_x = (dchain.backend.to_cpu(a).astype(numpy.float64) for a in (loc, x))
        assert_allclose(lp.array, _np_normal_log_prob(np_x, np_loc, scale), rtol=1e-4, atol=1e-5)
        assert_allclose(d.entropy.array, numpy.log(scale) + 0.5 * math.log(2 * math.pi * math.e),
                        rtol=1e-5)
        assert_allclose(d.mean.array, np_loc)
        assert_allclose(d.variance.array, scale ** 2, rtol=1e-5)
        assert_allclose(d.stddev.array, scale, rtol=1e-5)
        assert_allclose(d.prob(x).array, numpy.exp(_np_normal_log_prob(np_x, np_loc, scale)),
                        rtol=1e-4, atol=1e-6)


def test_normal_sample_is_reparameterized_and_follows_numpy_seed():
    loc, log_scale = _data(4), _data(4) * 0.1
    dchain.random.seed(None)  # draw from NumPy's global state, as Chainer does
    numpy.random.seed(3)
    eps = numpy.random.standard_normal((2, 5, 4))
    numpy.random.seed(3)
    z = D.Normal(loc, log_scale=log_scale).sample((2, 5))
    assert z.shape == (2, 5, 4)
    assert_allclose(z.array, loc + numpy.exp(log_scale) * eps)
    # statistics of many draws
    many = D.Normal(numpy.full(2, 3.0), scale=numpy.full(2, 0.5)).sample(20000).array
    assert abs(many.mean() - 3) < 0.02 and abs(many.std() - 0.5) < 0.02

    def draw(loc, log_scale):
        numpy.random.seed(0)
        return D.Normal(loc, log_scale=log_scale).sample(3)
    check_backward(draw, (loc, log_scale), _data(3, 4))


def test_normal_gradients():
    x = _data(3, 2)
    check_backward(lambda loc, ls: D.Normal(loc, log_scale=ls).log_prob(x),
                   (_data(3, 2), _data(3, 2) * 0.3), _data(3, 2))
    check_backward(lambda loc, scale: D.Normal(loc, scale=scale).log_prob(x),
                   (_data(3, 2), numpy.exp(_data(3, 2) * 0.3)), _data(3, 2))
    check_backward(lambda ls: D.Normal(numpy.zeros(2), log_scale=ls).entropy, _data(2), _data(2))


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_bernoulli_matches_numpy(xp, dtype):
    logit = xp.asarray(_data(3, 2), dtype)
    x = xp.asarray(RNG.random((3, 2)) > 0.5, dtype)
    np_logit, np_x = (dchain.backend.to_cpu(a).astype(numpy.float64) for a in (logit, x))
    p = _np_sigmoid(np_logit)
    expected = np_x * numpy.log(p) + (1 - np_x) * numpy.log(1 - p)
    for d in (D.Bernoulli(logit=logit), D.Bernoulli(p=xp.asarray(p, dtype))):
        assert d.batch_shape == (3, 2)
        assert d.log_prob(x).dtype == dtype
        assert_allclose(d.log_prob(x).array, expected, rtol=1e-4, atol=1e-5)
        assert_allclose(d.mean.array, p, rtol=1e-5)
        assert_allclose(d.variance.array, p * (1 - p), rtol=1e-4)
        assert_allclose(d.entropy.array, -(p * numpy.log(p) + (1 - p) * numpy.log(1 - p)),
                        rtol=1e-4, atol=1e-6)


def test_bernoulli_binary_check_and_sample():
    logit = _data(2, 3)
    x = numpy.array([[0, 1, 0.5], [1, 1, 0]])
    checked = D.Bernoulli(logit=logit, binary_check=True).log_prob(x).array
    assert checked[0, 2] == -numpy.inf and numpy.isfinite(numpy.delete(checked.ravel(), 2)).all()
    assert numpy.isfinite(D.Bernoulli(logit=logit).log_prob(x).array).all()
    dchain.random.seed(None)
    numpy.random.seed(1)
    draws = D.Bernoulli(p=numpy.full(3, 0.25)).sample(4000)
    assert draws.shape == (4000, 3) and draws.dtype == numpy.int64
    assert set(numpy.unique(draws.array)) <= {0, 1}
    assert abs(draws.array.mean() - 0.25) < 0.03


def test_bernoulli_gradients():
    x = (RNG.random((3, 2)) > 0.5).astype(numpy.float64)
    check_backward(lambda logit: D.Bernoulli(logit=logit).log_prob(x), _data(3, 2), _data(3, 2))
    check_backward(lambda p: D.Bernoulli(p=p).log_prob(x), RNG.uniform(0.2, 0.8, (3, 2)),
                   _data(3, 2))
    check_backward(lambda logit: D.Bernoulli(logit=logit).entropy, _data(4), _data(4))


def test_independent_sums_event_axes():
    loc, log_scale, x = _data(4, 3, 2), _data(4, 3, 2) * 0.2, _data(4, 3, 2)
    base = D.Normal(loc, log_scale=log_scale)
    d = D.Independent(base)  # all but the first axis
    assert d.reinterpreted_batch_ndims == 2
    assert d.batch_shape == (4,) and d.event_shape == (3, 2)
    expected = _np_normal_log_prob(x, loc, numpy.exp(log_scale)).sum(axis=(1, 2))
    assert_allclose(d.log_prob(x).array, expected)
    assert_allclose(d.entropy.array, base.entropy.array.sum(axis=(1, 2)))
    one = D.Independent(base, reinterpreted_batch_ndims=1)
    assert one.batch_shape == (4, 3) and one.log_prob(x).shape == (4, 3)
    assert D.Independent(base, 0).log_prob(x).shape == (4, 3, 2)
    assert d.sample(5).shape == (5, 4, 3, 2)
    check_backward(lambda loc, ls: D.Independent(D.Normal(loc, log_scale=ls)).log_prob(x),
                   (loc, log_scale), _data(4))


def test_kl_divergence_closed_forms():
    loc1, ls1, loc2, ls2 = _data(3, 2), _data(3, 2) * 0.3, _data(2), _data(2) * 0.3
    s1, s2 = numpy.exp(ls1), numpy.exp(ls2)
    expected = numpy.log(s2 / s1) + (s1 ** 2 + (loc1 - loc2) ** 2) / (2 * s2 ** 2) - 0.5
    kl = dchain.kl_divergence(D.Normal(loc1, log_scale=ls1), D.Normal(loc2, log_scale=ls2))
    assert_allclose(kl.array, expected)
    kl = dchain.kl_divergence(D.Independent(D.Normal(loc1, log_scale=ls1)),
                              D.Independent(D.Normal(loc2, scale=s2), 1))
    assert_allclose(kl.array, expected.sum(axis=1))
    assert_allclose(dchain.kl_divergence(D.Normal(loc1, scale=s1),
                                         D.Normal(loc1, scale=s1)).array, numpy.zeros((3, 2)),
                    atol=1e-12)
    p1, p2 = RNG.uniform(0.1, 0.9, 4), RNG.uniform(0.1, 0.9, 4)
    expected = p1 * numpy.log(p1 / p2) + (1 - p1) * numpy.log((1 - p1) / (1 - p2))
    assert_allclose(dchain.kl_divergence(D.Bernoulli(p=p1), D.Bernoulli(p=p2)).array, expected)
    check_backward(lambda a, b: dchain.kl_divergence(D.Normal(a, log_scale=b),
                                                     D.Normal(loc2, log_scale=ls2)),
                   (loc1, ls1), _data(3, 2))
    check_backward(lambda a, b: dchain.kl_divergence(D.Bernoulli(logit=a), D.Bernoulli(logit=b)),
                   (_data(4), _data(4)), _data(4))


def test_register_kl():
    class Point(D.Normal):
        pass

    @dchain.register_kl(Point, D.Bernoulli)
    def kl_point_bernoulli(a, b):
        return 'registered'
    assert dchain.kl_divergence(Point(_data(2), scale=numpy.ones(2)),
                                D.Bernoulli(p=numpy.full(2, 0.5))) == 'registered'
    # a subclass finds its base's closed form
    assert dchain.kl_divergence(Point(_data(2), scale=numpy.ones(2)),
                                D.Normal(_data(2), scale=numpy.ones(2))).shape == (2,)


def test_bad_arguments():
    with pytest.raises(ValueError, match='Normal: give exactly one of scale and log_scale'):
        D.Normal(numpy.zeros(2))
    with pytest.raises(TypeError, match='Normal: loc must be a Variable or an array, got list'):
        D.Normal([0.0], scale=numpy.ones(1))
    with pytest.raises(TypeError, match='Normal: loc must be a float array, got int64'):
        D.Normal(numpy.zeros(2, numpy.int64), scale=numpy.ones(2))
    with pytest.raises(ValueError, match='Bernoulli: give exactly one of p and logit'):
        D.Bernoulli()
    with pytest.raises(ValueError, match=r'Independent: reinterpreted_batch_ndims must be an int '
                                         r'in \[0, 1\]'):
        D.Independent(D.Normal(numpy.zeros(2), scale=numpy.ones(2)), 2)
    with pytest.raises(NotImplementedError, match='kl_divergence: no closed form is registered '
                                                  'for Normal and Bernoulli'):
        dchain.kl_divergence(D.Normal(numpy.zeros(2), scale=numpy.ones(2)),
                             D.Bernoulli(p=numpy.full(2, 0.5)))
    with pytest.raises(ValueError, match='reinterpret different numbers of batch axes'):
        base = D.Normal(numpy.zeros((2, 2)), scale=numpy.ones((2, 2)))
        dchain.kl_divergence(D.Independent(base, 1), D.Independent(base, 2))
    with pytest.raises(ValueError, match='Normal.sample: sample_shape must not be negative'):
        D.Normal(numpy.zeros(2), scale=numpy.ones(2)).sample(-1)
