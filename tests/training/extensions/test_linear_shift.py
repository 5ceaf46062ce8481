import pytest

from dchain.training import Trainer
from dchain.training.extensions import LinearShift

from .._fakes import DictDeserializer, DictSerializer, FakeOptimizer, FakeUpdater


def _run(tmp_path, extension, iterations, updater=None):
    trainer = Trainer(updater or FakeUpdater(), (iterations, 'iteration'), out=str(tmp_path))
    optimizer = trainer.updater.optimizer
    values = []
    trainer.extend(extension)
    trainer.extend(lambda trainer: values.append(optimizer.lr), name='spy', priority=-1)
    trainer.run()
    return values, trainer


def test_values(tmp_path):
    # t <= 2 -> 1.0, t >= 6 -> 0.0, linear between
    values, _ = _run(tmp_path, LinearShift('lr', (1.0, 0.0), (2, 6)), 8)
    assert values == pytest.approx([1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0])


def test_initial_value_and_explicit_optimizer(tmp_path):
    other = FakeOptimizer(None, lr=9.0)
    extension = LinearShift('lr', (0.2, 0.4), (0, 2), optimizer=other)
    trainer = Trainer(FakeUpdater(), (1, 'iteration'), out=str(tmp_path))
    seen = []
    trainer.extend(extension, call_before_training=False)
    trainer.extend(lambda trainer: seen.append(other.lr), name='spy', priority=1000)
    trainer.run()
    assert seen == [0.2]  # set by initialize, before the first step
    assert other.lr == pytest.approx(0.3)


def test_resume_continues_the_schedule(tmp_path):
    _, trainer = _run(tmp_path, LinearShift('lr', (1.0, 0.0), (0, 4)), 1)
    serializer = DictSerializer()
    trainer.serialize(serializer)
    resumed = Trainer(FakeUpdater(), (4, 'iteration'), out=str(tmp_path))
    values = []
    resumed.extend(LinearShift('lr', (1.0, 0.0), (0, 4)))
    resumed.extend(lambda trainer: values.append(trainer.updater.optimizer.lr), name='spy',
                   priority=-1)
    resumed.serialize(DictDeserializer(serializer.target))
    resumed.run()
    assert values == pytest.approx([0.5, 0.25, 0.0])


def test_bad_ranges():
    with pytest.raises(ValueError, match='LinearShift: value_range and time_range must be pairs'):
        LinearShift('lr', (1.0,), (0, 4))
    with pytest.raises(ValueError, match=r'LinearShift: time_range must be increasing, got '
                                         r'\(4, 4\)'):
        LinearShift('lr', (1.0, 0.0), (4, 4))
