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
