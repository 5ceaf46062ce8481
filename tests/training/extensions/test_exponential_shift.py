import pytest

from dchain.training import Trainer
from dchain.training.extensions import ExponentialShift

from .._fakes import DictDeserializer, DictSerializer, FakeOptimizer, FakeUpdater


def _values(tmp_path, extension, iterations, attr='lr', trigger=None, updater=None):
    trainer = Trainer(updater or FakeUpdater(), (iterations, 'iteration'), out=str(tmp_path))
    optimizer = trainer.updater.get_optimizer('main')
    values = []
    trainer.extend(extension, trigger=trigger)
    trainer.extend(lambda trainer: values.append(getattr(optimizer, attr)), name='spy',
                   priority=-1)
    trainer.run()
    return values, trainer


@pytest.mark.parametrize('rate, init, target, expected', [
    (0.5, None, None, [0.05, 0.025, 0.0125, 0.00625]),
    (0.5, 1.0, 0.2, [0.5, 0.25, 0.2, 0.2]),
    (2.0, 1.0, 5.0, [2.0, 4.0, 5.0, 5.0]),
    (0.5, -4.0, -1.5, [-2.0, -1.5, -1.5, -1.5]),
])
def test_values(tmp_path, rate, init, target, expected):
    values, _ = _values(tmp_path, ExponentialShift('lr', rate, init=init, target=target), 4)
    assert values == pytest.approx(expected, rel=1e-12)


def test_initial_value_set_before_training_and_other_attribute(tmp_path):
    updater = FakeUpdater()
    extension = ExponentialShift('alpha', 0.1, init=0.5)
    values, trainer = _values(tmp_path, extension, 4, attr='alpha', trigger=(2, 'iteration'),
                              updater=updater)
    assert values == pytest.approx([0.5, 0.05, 0.05, 0.005])


def test_explicit_optimizer(tmp_path):
    other = FakeOptimizer(None, lr=1.0)
    _values(tmp_path, ExponentialShift('lr', 0.5, optimizer=other), 3)
    assert other.lr == 0.125


def test_resume_continues_the_schedule(tmp_path):
    first = ExponentialShift('lr', 0.5)
    _, trainer = _values(tmp_path, first, 2)
    serializer = DictSerializer()
    trainer.serialize(serializer)

    resumed = Trainer(FakeUpdater(), (4, 'iteration'), out=str(tmp_path))
    resumed.updater.optimizer.lr = 123.0  # a fresh run's value; the snapshot's one wins
    values = []
    resumed.extend(ExponentialShift('lr', 0.5))
    resumed.extend(lambda trainer: values.append(trainer.updater.optimizer.lr), name='spy',
                   priority=-1)
    resumed.serialize(DictDeserializer(serializer.target))
    resumed.run()
    assert values == pytest.approx([0.0125, 0.00625])


def test_negative_rate():
    with pytest.raises(ValueError, match='ExponentialShift: rate must be non-negative, got -0.5'):
        ExponentialShift('lr', -0.5)
