import numpy
import pytest

import dchain
import dchain.links as L
from dchain import optimizers
from dchain.datasets import TupleDataset
from dchain.iterators import SerialIterator
from dchain.training import Trainer
from dchain.training.updaters import ParallelUpdater

from .._fakes import EpochIterator


def _data(n=8):
    x = numpy.random.RandomState(1).randn(n, 3).astype(numpy.float32)
    t = (x[:, 0] > 0).astype(numpy.int32)
    return TupleDataset(x, t)


def _linear(seed=0):
    model = L.Classifier(L.Linear(3, 2))
    rng = numpy.random.RandomState(seed)
    model.predictor.W.array[...] = rng.randn(2, 3)
    model.predictor.b.array[...] = rng.randn(2)
    return model


def test_step_equals_summed_gradients_of_the_parts():
    dataset = _data()
    model = _linear()
    reference = _linear()
    optimizer = optimizers.SGD(lr=0.1).setup(model)
    updater = ParallelUpdater(EpochIterator(dataset, 4), optimizer,
                              devices={'main': '@numpy', 'second': -1})
    second = updater._models['second']
    assert second is not model and second.predictor.W is not model.predictor.W
    updater.update()
    # reference: gradient of part 0 (examples 0, 2) plus gradient of part 1 (examples 1, 3)
    grads = []
    for part in ([0, 2], [1, 3]):
        reference.cleargrads()
        xs = numpy.stack([dataset[i][0] for i in part])
        ts = numpy.array([dataset[i][1] for i in part], numpy.int32)
        reference(xs, ts).backward()
        grads.append({name: p.grad.copy() for name, p in reference.namedparams()})
    for name, param in reference.namedparams():
        expected = param.array - 0.1 * (grads[0][name] + grads[1][name])
        numpy.testing.assert_allclose(dict(model.namedparams())[name].array, expected,
                                      rtol=1e-5, atol=1e-6)
    # the other model follows the main one
    for (_, mine), (_, theirs) in zip(model.namedparams(), second.namedparams()):
        numpy.testing.assert_array_equal(mine.array, theirs.array)
    assert updater.iteration == 1 and optimizer.t == 1


def test_trains_in_a_trainer_and_reports_every_model(tmp_path):
    dataset = _data(64)
    model = L.Classifier(L.Linear(None, 2))   # initialized lazily, on each copy
    optimizer = optimizers.Adam(alpha=0.05).setup(model)
    updater = ParallelUpdater(SerialIterator(dataset, 16), optimizer,
                              devices={'main': -1, 'second': -1, 'third': -1})
    trainer = Trainer(updater, (10, 'epoch'), out=str(tmp_path))
    losses = []

    @dchain.training.make_extension(trigger=(1, 'iteration'))
    def record(trainer):
        losses.append({k: float(v) for k, v in trainer.observation.items()})
    trainer.extend(record)
    trainer.run()
    assert set(losses[0]) >= {'main/loss', 'second/loss', 'third/loss', 'main/accuracy'}
    first = numpy.mean([losses[0][k] for k in ('main/loss', 'second/loss', 'third/loss')])
    last = numpy.mean([losses[-1][k] for k in ('main/loss', 'second/loss', 'third/loss')])
    assert last < 0.5 * first
    for (_, mine), (_, theirs) in zip(model.namedparams(),
                                      updater._models['third'].namedparams()):
        numpy.testing.assert_array_equal(mine.array, theirs.array)


def test_given_models_loss_func_and_loss_scale():
    dataset = _data()
    main, other, reference = _linear(), _linear(1), _linear()
    optimizer = optimizers.SGD(lr=0.1).setup(main)
    calls = []

    def loss_func(x, t):
        # Chainer's loss_func is used for every part as it is: this one reads main only
        calls.append(x.shape)
        return main(x, t)
    updater = ParallelUpdater(EpochIterator(dataset, 4), optimizer,
                              models={'main': main, 'other': other},
                              devices={'main': -1, 'other': -1}, loss_func=loss_func,
                              loss_scale=8.0)
    updater.update()
    assert calls == [(2, 3), (2, 3)]
    reference.cleargrads()
    for part in ([0, 2], [1, 3]):
        xs = numpy.stack([dataset[i][0] for i in part])
        ts = numpy.array([dataset[i][1] for i in part], numpy.int32)
        reference(xs, ts).backward()   # gradients accumulate over the two parts
    # the loss scale is taken back out before the step
    numpy.testing.assert_allclose(main.predictor.W.array,
                                  reference.predictor.W.array - 0.1 * reference.predictor.W.grad,
                                  rtol=1e-5, atol=1e-6)
    numpy.testing.assert_array_equal(other.predictor.W.array, main.predictor.W.array)


def test_bad_arguments():
    model = _linear()
    optimizer = optimizers.SGD().setup(model)
    iterator = EpochIterator(_data(), 4)
    with pytest.raises(ValueError, match='ParallelUpdater: give devices'):
        ParallelUpdater(iterator, optimizer)
    with pytest.raises(ValueError, match="devices must be a dict with a 'main' key"):
        ParallelUpdater(iterator, optimizer, devices={'first': -1})
    with pytest.raises(ValueError, match="'main' model is the 'main' optimizer's target"):
        ParallelUpdater(iterator, optimizer, models={'main': _linear()}, devices={'main': -1})
    with pytest.raises(ValueError, match='devices must name the same models'):
        ParallelUpdater(iterator, optimizer, models={'main': model, 'b': _linear()},
                        devices={'main': -1})
