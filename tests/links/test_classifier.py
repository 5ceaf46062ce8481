import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import reporter as reporter_module
from dchain.testing import assert_allclose


def _device(xp):
    return '@numpy' if xp is numpy else '@cupy:0'


def squared_error(y, t):
    return F.mean(F.square(y - t))


def cross_entropy_reference(y, t):
    y = y.astype(numpy.float64)
    shifted = y - y.max(axis=1, keepdims=True)
    log_softmax = shifted - numpy.log(numpy.exp(shifted).sum(axis=1, keepdims=True))
    return -log_softmax[numpy.arange(len(t)), t].mean()


class TwoInputs(dchain.Chain):
    """A predictor of two arguments, to place the labels between or after them."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(3, 4)

    def forward(self, x, z):
        return self.l1(x) * z


def _observe(model, *args, **kwargs):
    reporter = reporter_module.Reporter()
    reporter.add_observer('main', model)
    observation = {}
    with reporter.scope(observation):
        loss = model(*args, **kwargs)
    return loss, observation


def test_classification_reports_loss_and_accuracy(xp, rng):
    model = L.Classifier(L.Linear(5, 4)).to_device(_device(xp))
    x = xp.asarray(rng.normal(0, 1, (8, 5)), numpy.float32)
    t_cpu = rng.integers(0, 4, 8).astype(numpy.int32)
    t = xp.asarray(t_cpu)
    loss, observation = _observe(model, x, t)
    y = dchain.backend.to_cpu(model.y.data)
    assert model.loss is loss and model.y.shape == (8, 4)
    assert_allclose(loss.data, cross_entropy_reference(y, t_cpu), atol=1e-5, rtol=1e-5)
    assert_allclose(model.accuracy.data, (y.argmax(axis=1) == t_cpu).mean(), atol=1e-6)
    assert sorted(observation) == ['main/accuracy', 'main/loss']
    assert_allclose(observation['main/loss'], loss.data)
    assert not isinstance(observation['main/loss'], dchain.Variable)  # no graph kept
    loss.backward()
    assert model.predictor.W.grad is not None


def test_regression_with_float_targets_needs_no_switch(xp, rng):
    model = L.Classifier(L.Linear(3, 2), lossfun=squared_error).to_device(_device(xp))
    assert model.compute_accuracy
    x = xp.asarray(rng.normal(0, 1, (6, 3)), numpy.float32)
    t = xp.asarray(rng.normal(0, 1, (6, 2)), numpy.float32)
    loss, observation = _observe(model, x, t)
    W, b = (dchain.backend.to_cpu(p.data) for p in (model.predictor.W, model.predictor.b))
    expected = ((dchain.backend.to_cpu(x) @ W.T + b - dchain.backend.to_cpu(t)) ** 2).mean()
    assert_allclose(loss.data, expected, rtol=1e-5)
    assert model.accuracy is None
    assert sorted(observation) == ['main/loss']


def test_compute_accuracy_switch(rng):
    model = L.Classifier(L.Linear(3, 2))
    model.compute_accuracy = False
    x = rng.normal(0, 1, (4, 3)).astype(numpy.float32)
    _, observation = _observe(model, x, numpy.array([0, 1, 1, 0], numpy.int32))
    assert model.accuracy is None and sorted(observation) == ['main/loss']


def test_custom_accfun_and_outside_a_reporter(rng):
    calls = []

    def accfun(y, t):
        calls.append(t)
        return F.mean(y) * 0

    model = L.Classifier(L.Linear(3, 2), accfun=accfun)
    t = numpy.array([1, 0], numpy.int32)
    loss = model(rng.normal(0, 1, (2, 3)).astype(numpy.float32), t)  # no reporter: no error
    assert loss.shape == () and calls[0] is t and model.accuracy.data == 0


@pytest.mark.parametrize('label_key', [1, -2, 'target'])
def test_label_key(rng, label_key):
    model = L.Classifier(TwoInputs(), lossfun=squared_error, label_key=label_key)
    x = rng.normal(0, 1, (5, 3)).astype(numpy.float32)
    z = rng.normal(0, 1, (5, 4)).astype(numpy.float32)
    t = rng.normal(0, 1, (5, 4)).astype(numpy.float32)
    if label_key == 'target':
        loss = model(x, z=z, target=t)
    else:
        loss = model(x, t, z)  # labels at position 1 (= -2): x and z go to the predictor
    W, b = model.predictor.l1.W.data, model.predictor.l1.b.data
    assert_allclose(model.y.data, (x @ W.T + b) * z, rtol=1e-5, atol=1e-6)
    assert_allclose(loss.data, (((x @ W.T + b) * z - t) ** 2).mean(), rtol=1e-5)


def test_state_and_paths():
    model = L.Classifier(dchain.Chain(l1=L.Linear(4, 3), l2=L.Linear(3, 2)))
    assert model.y is None and model.loss is None and model.accuracy is None
    assert model.label_key == -1 and model.lossfun is F.softmax_cross_entropy
    assert model.accfun is F.accuracy
    assert sorted(p for p, _ in model.namedparams()) == [
        '/predictor/l1/W', '/predictor/l1/b', '/predictor/l2/W', '/predictor/l2/b']


def test_errors(rng):
    with pytest.raises(TypeError, match='Classifier: label_key must be an int or a str, got '
                                        'float'):
        L.Classifier(L.Linear(2, 2), label_key=1.0)
    model = L.Classifier(L.Linear(2, 2), label_key=2)
    x = numpy.ones((1, 2), numpy.float32)
    with pytest.raises(ValueError, match='Classifier: label_key 2 is out of range for 2 '
                                         'positional arguments'):
        model(x, numpy.zeros(1, numpy.int32))
    model = L.Classifier(L.Linear(2, 2), label_key='t')
    with pytest.raises(ValueError, match=r"Classifier: label_key 't' is not among the keyword "
                                         r"arguments \(label\)"):
        model(x, label=numpy.zeros(1, numpy.int32))
