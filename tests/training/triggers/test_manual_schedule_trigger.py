import pytest

from dchain.training.triggers import ManualScheduleTrigger

from .._fakes import fake_trainer, round_trip, step


def _fired(trigger, trainer, iterations):
    fired = []
    for _ in range(iterations):
        step(trainer)
        if trigger(trainer):
            fired.append(trainer.updater.iteration)
    return fired


@pytest.mark.parametrize('points, unit, expected', [
    ([2, 5, 9], 'iteration', [2, 5, 9]), (3, 'iteration', [3]),
    ([1, 2.5], 'epoch', [4, 10]), (0.5, 'epoch', [2])])
def test_fires_at_points(points, unit, expected):
    trigger = ManualScheduleTrigger(points, unit)
    trainer = fake_trainer(4)
    assert _fired(trigger, trainer, 12) == expected
    assert trigger.finished


def test_finished_only_after_the_last_point():
    trigger = ManualScheduleTrigger([2, 6], 'iteration')
    trainer = fake_trainer()
    _fired(trigger, trainer, 3)
    assert not trigger.finished
    assert trigger.get_training_length() == (6, 'iteration')
    _fired(trigger, trainer, 3)
    assert trigger.finished


def test_resumed_trigger_fires_at_the_same_points():
    first = ManualScheduleTrigger([1, 2, 3.5], 'epoch')
    trainer = fake_trainer(2)
    head = _fired(first, trainer, 4)
    resumed = ManualScheduleTrigger([1, 2, 3.5], 'epoch')
    round_trip(first, resumed)
    assert head + _fired(resumed, trainer, 6) == [2, 4, 7]


def test_bad_arguments():
    with pytest.raises(ValueError, match="ManualScheduleTrigger: unit must be"):
        ManualScheduleTrigger([1], 'iter')
    with pytest.raises(ValueError, match='points must not be empty'):
        ManualScheduleTrigger([], 'epoch')
    with pytest.raises(TypeError, match="points must be numbers, got '3'"):
        ManualScheduleTrigger(['3'], 'epoch')
