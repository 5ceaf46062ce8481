import io
import math

import pytest

from dchain.training import Trainer
from dchain.training.extensions import ProgressBar
from dchain.training.triggers import EarlyStoppingTrigger

from .._fakes import DictDeserializer, FakeUpdater, fake_trainer, round_trip, step

# one value per iteration; checked every 2 iterations: pair means 3, 5, 1, 4, 4.5, 0.5
VALUES = [4.0, 2.0, 5.0, 5.0, 1.0, 1.0, 0.0, 8.0, 4.0, 5.0, 0.5, 0.5]


def _stopped_at(trigger, trainer, values):
    for value in values:
        step(trainer, {'validation/main/loss': value})
        if trigger(trainer):
            return trainer.updater.iteration
    return None


@pytest.mark.parametrize('patience, stop', [(1, 4), (2, 10), (3, None)])
def test_stops_after_patience_checks_without_improvement(patience, stop):
    trigger = EarlyStoppingTrigger(check_trigger=(2, 'iteration'),
                                   monitor='validation/main/loss', patience=patience,
                                   max_trigger=(100, 'iteration'))
    assert _stopped_at(trigger, fake_trainer(), VALUES) == stop
    if stop is None:
        # best 1 (after the third check), then 4, 4.5: two without improvement; 0.5 resets
        assert trigger.best == 0.5 and trigger.count == 0


def test_mode_auto_max_for_accuracy_and_explicit_modes():
    assert EarlyStoppingTrigger(monitor='validation/main/accuracy').mode == 'max'
    assert EarlyStoppingTrigger(monitor='validation/main/loss').mode == 'min'
    trigger = EarlyStoppingTrigger(check_trigger=(2, 'iteration'), monitor='validation/main/loss',
                                   patience=1, mode='max')
    assert trigger.best == -math.inf
    # pair means 3 then 5 (better under max), then 1: stops at the third check
    assert _stopped_at(trigger, fake_trainer(), VALUES) == 6


def test_max_trigger_and_training_length():
    trigger = EarlyStoppingTrigger(check_trigger=(2, 'iteration'),
                                   monitor='validation/main/loss', patience=10,
                                   max_trigger=(5, 'iteration'))
    assert _stopped_at(trigger, fake_trainer(), VALUES) == 5
    assert trigger.get_training_length() == (5, 'iteration')
    assert EarlyStoppingTrigger().get_training_length() == (100, 'epoch')


def test_stops_a_trainer(tmp_path):
    # main/loss is 1, 2, 3, ...: never improves after the first epoch (2 iterations)
    trainer = Trainer(FakeUpdater(2), EarlyStoppingTrigger(patience=2), out=str(tmp_path))
    trainer.extend(ProgressBar(out=io.StringIO()))
    trainer.run()
    # checks at iterations 2 (best 1.5), 4 (3.5), 6 (5.5): stops at the check after 6
    assert trainer.updater.iteration == 6


def test_missing_monitor_warns_and_skips_the_check():
    trigger = EarlyStoppingTrigger(check_trigger=(1, 'iteration'), monitor='absent', patience=1)
    trainer = fake_trainer()
    with pytest.warns(UserWarning, match="EarlyStoppingTrigger: 'absent' is not in the "
                                         r"observation at this check \(observed: \['x'\]\)"):
        step(trainer, {'x': 1.0})
        assert not trigger(trainer)
    assert trigger.count == 0


@pytest.mark.parametrize('split', [1, 3, 5, 8])
def test_resumed_trigger_stops_where_the_uninterrupted_one_does(split):
    def make():
        return EarlyStoppingTrigger(check_trigger=(2, 'iteration'),
                                    monitor='validation/main/loss', patience=2)
    first, trainer = make(), fake_trainer()
    assert _stopped_at(first, trainer, VALUES[:split]) is None
    resumed = make()
    round_trip(first, resumed)
    assert resumed.best == first.best and resumed.count == first.count
    assert _stopped_at(resumed, trainer, VALUES[split:]) == 10
    # a snapshot written by Chainer keeps no state for this trigger: loading it is a no-op
    fresh = make()
    fresh.serialize(DictDeserializer({}))
    assert fresh.count == 0 and fresh.best == math.inf


def test_patients_alias_and_bad_arguments():
    assert EarlyStoppingTrigger(patients=5).patience == 5
    assert EarlyStoppingTrigger().patience == 3
    with pytest.raises(TypeError, match='give patience or its older name patients, not both'):
        EarlyStoppingTrigger(patience=2, patients=2)
    with pytest.raises(ValueError, match='patience must be a positive int, got 0'):
        EarlyStoppingTrigger(patience=0)
    with pytest.raises(ValueError, match="mode must be one of .*, got 'up'"):
        EarlyStoppingTrigger(mode='up')
