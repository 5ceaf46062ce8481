import numpy
import pytest

import dchain
from dchain import reporter as R

from dict_serializer import DictSerializer


def test_report_inside_scope_is_prefixed_by_observer():
    reporter = R.Reporter()
    model = dchain.Chain()
    reporter.add_observer('main', model)
    observation = {}
    with reporter.scope(observation):
        R.report({'loss': dchain.Variable(numpy.array(2.0))}, model)
        R.report({'lr': 0.1})
    assert observation == {'main/loss': numpy.array(2.0), 'lr': 0.1}
    assert isinstance(observation['main/loss'], numpy.ndarray)  # no graph kept


def test_report_without_reporter_does_nothing():
    R.report({'loss': 1.0})  # no error


def test_unregistered_observer():
    reporter = R.Reporter()
    with reporter.scope({}):
        with pytest.raises(KeyError, match='report: the observer Chain is not registered'):
            R.report({'x': 1.0}, dchain.Chain())


def test_report_scope_and_current_reporter():
    reporter = R.Reporter()
    outer, inner = {}, {}
    with reporter.scope(outer):
        assert R.get_current_reporter() is reporter
        with R.report_scope(inner):
            R.report({'a': 1})
        R.report({'b': 2})
    assert inner == {'a': 1} and outer == {'b': 2}
    with pytest.raises(RuntimeError, match='no reporter is active'):
        R.get_current_reporter()


def test_summary_weighted_mean_and_std():
    summary = R.Summary()
    summary.add(1.0, weight=3)
    summary.add(numpy.float32(5.0), weight=1)
    assert summary.compute_mean() == pytest.approx(2.0)
    assert summary.total == pytest.approx(8.0) and summary.weight == 4
    mean, std = summary.make_statistics()
    assert mean == pytest.approx(2.0)
    assert std == pytest.approx(numpy.sqrt((3 * 1 + 25) / 4 - 4))
    assert numpy.isnan(R.Summary().compute_mean())


def test_dict_summary_skips_non_scalars_and_serializes():
    summary = R.DictSummary()
    summary.add({'loss': 1.0, 'acc': (0.5, 2), 'image': numpy.zeros((2, 2))})
    summary.add({'loss': dchain.Variable(numpy.array(3.0)), 'acc': (1.0, 2)})
    assert summary.compute_mean() == {'loss': 2.0, 'acc': 0.75}
    stats = summary.make_statistics()
    assert stats['loss'] == 2.0 and stats['loss.std'] == pytest.approx(1.0)

    store = {}
    summary.serialize(DictSerializer(store, False))
    restored = R.DictSummary()
    restored.serialize(DictSerializer(store, True))
    assert restored.compute_mean() == summary.compute_mean()


@pytest.mark.gpu
def test_summary_keeps_gpu_values_on_the_device():
    import cupy
    summary = R.Summary()
    summary.add(cupy.asarray(2.0))
    summary.add(cupy.asarray(4.0))
    assert isinstance(summary._x, cupy.ndarray)
    assert summary.compute_mean() == 3.0
