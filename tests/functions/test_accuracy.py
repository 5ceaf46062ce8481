import numpy
import pytest

import dchain
import dchain.functions as F
from dchain.testing import assert_allclose


def _cpu(x):
    return dchain.backend.to_cpu(x.data if isinstance(x, dchain.Variable) else x)


def accuracy_reference(y, t, ignore_label=None):
    prediction = numpy.moveaxis(_cpu(y), 1, -1).argmax(axis=-1)
    t = _cpu(t)
    keep = numpy.ones(t.shape, bool) if ignore_label is None else t != ignore_label
    return ((prediction == t) & keep).sum() / max(keep.sum(), 1)


@pytest.mark.parametrize('y_shape,t_shape', [((10, 4), (10,)), ((3, 5, 2, 2), (3, 2, 2)),
                                             ((1, 3), (1,))])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
@pytest.mark.parametrize('ignore_label', [None, -1, 0])
def test_accuracy(xp, rng, y_shape, t_shape, dtype, ignore_label):
    y = xp.asarray(rng.normal(size=y_shape), dtype)
    # Labels that are right about half the time, so the accuracy is neither 0 nor 1.
    prediction = numpy.moveaxis(_cpu(y), 1, -1).argmax(axis=-1)
    t_host = numpy.where(rng.uniform(size=t_shape) < 0.5, prediction,
                         rng.integers(-1, y_shape[1], t_shape)).astype(numpy.int32)
    t = xp.asarray(t_host)
    result = F.accuracy(y, t, ignore_label=ignore_label)
    assert isinstance(result, dchain.Variable)
    assert result.dtype == dtype and result.shape == ()
    assert result.creator is None and not result.requires_grad
    assert_allclose(result.data, accuracy_reference(y, t, ignore_label), atol=1e-3, rtol=1e-3)


def test_accuracy_known_values(xp):
    y = xp.asarray(numpy.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]], numpy.float32))
    t = xp.asarray(numpy.array([1, 1, -1, 0], numpy.int32))
    assert float(F.accuracy(y, t).data) == 0.5  # -1 counts as a wrong label without ignore
    assert_allclose(F.accuracy(y, t, ignore_label=-1).data, 2 / 3)
    assert float(F.accuracy(dchain.Variable(y), dchain.Variable(t), ignore_label=1).data) == 0.5
    everything_ignored = F.accuracy(y, xp.full(4, -1, numpy.int32), ignore_label=-1)
    assert float(everything_ignored.data) == 0.0


def test_accuracy_errors(xp):
    y = xp.zeros((4, 3), numpy.float32)
    with pytest.raises(TypeError, match='accuracy: t must be an integer array of class labels, '
                                        'got float32'):
        F.accuracy(y, xp.zeros(4, numpy.float32))
    with pytest.raises(TypeError, match='accuracy: y must be a float array of scores, got int32'):
        F.accuracy(xp.zeros((4, 3), numpy.int32), xp.zeros(4, numpy.int32))
    with pytest.raises(ValueError, match=r'accuracy: y must have shape \(N, C, ...\) and t shape '
                                         r'\(N, ...\) without the class axis, got y of shape '
                                         r'\(4, 3\) and t of shape \(5,\)'):
        F.accuracy(y, xp.zeros(5, numpy.int32))


@pytest.mark.parametrize('shape', [(6,), (4, 3), (2, 3, 2)])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_binary_accuracy_matches_numpy(xp, rng, shape, dtype):
    y = rng.normal(0, 1, shape)
    y.flat[0] = 0.0  # 0 predicts the positive class
    t = rng.integers(-1, 2, shape).astype(numpy.int32)
    t.flat[0] = 1
    result = F.binary_accuracy(xp.asarray(y, dtype), xp.asarray(t))
    assert result.dtype == dtype and result.shape == ()
    valid = t != -1
    expected = ((y >= 0).astype(numpy.int32) == t)[valid].mean()
    assert_allclose(result.data, expected, atol=1e-3, rtol=1e-3)
    assert result.creator is None and not result.requires_grad


def test_binary_accuracy_all_ignored_is_zero(xp):
    y = xp.ones((2, 2), numpy.float32)
    assert float(F.binary_accuracy(y, xp.full((2, 2), -1, numpy.int32)).data) == 0.0


def test_binary_accuracy_errors(xp):
    y = xp.ones((2, 2), numpy.float32)
    with pytest.raises(TypeError, match='binary_accuracy: y must be a float array of scores, '
                                        'got int32'):
        F.binary_accuracy(xp.ones((2, 2), numpy.int32), xp.ones((2, 2), numpy.int32))
    with pytest.raises(TypeError, match='binary_accuracy: t must be a signed integer array'):
        F.binary_accuracy(y, y)
    with pytest.raises(ValueError, match=r'binary_accuracy: y and t must have the same shape, '
                                         r'got \(2, 2\) and \(4,\)'):
        F.binary_accuracy(y, xp.ones(4, numpy.int32))
