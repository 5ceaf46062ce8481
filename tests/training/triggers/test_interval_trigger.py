import pytest

from dchain.training import get_trigger
from dchain.training.triggers import IntervalTrigger

from .._fakes import fake_trainer, round_trip, step


def _fired(trigger, trainer, iterations):
    fired = []
    for _ in range(iterations):
        step(trainer)
        if trigger(trainer):
            fired.append(trainer.updater.iteration)
    return fired


@pytest.mark.parametrize('period, expected', [(1, [1, 2, 3, 4, 5, 6]), (2, [2, 4, 6]),
                                              (4, [4]), (7, [])])
def test_iteration_unit(period, expected):
    trigger = IntervalTrigger(period, 'iteration')
    assert _fired(trigger, fake_trainer(), 6) == expected


@pytest.mark.parametrize('period, iters_per_epoch, expected', [
    (1, 4, [4, 8, 12]), (2, 4, [8]), (0.5, 4, [2, 4, 6, 8, 10, 12]),
    (1, 3, [3, 6, 9, 12]), (0.5, 3, [2, 3, 5, 6, 8, 9, 11, 12])])
def test_epoch_unit(period, iters_per_epoch, expected):
    trigger = IntervalTrigger(period, 'epoch')
    assert _fired(trigger, fake_trainer(iters_per_epoch), 12) == expected


def test_tuple_becomes_interval_trigger():
    trigger = get_trigger((3, 'iteration'))
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.get_training_length() == (3, 'iteration')
    assert _fired(trigger, fake_trainer(), 7) == [3, 6]


def test_get_trigger_passes_callables_and_none():
    def custom(trainer):
        return True
    assert get_trigger(custom) is custom
    never = get_trigger(None)
    assert _fired(never, fake_trainer(), 5) == []


@pytest.mark.parametrize('unit', ['iteration', 'epoch'])
def test_resumed_trigger_fires_at_the_same_points(unit):
    reference = IntervalTrigger(3, unit)
    expected = _fired(reference, fake_trainer(2), 20)
    first = IntervalTrigger(3, unit)
    trainer = fake_trainer(2)
    head = _fired(first, trainer, 7)
    resumed = IntervalTrigger(3, unit)
    round_trip(first, resumed)
    assert head + _fired(resumed, trainer, 13) == expected


def test_bad_arguments():
    with pytest.raises(ValueError, match="IntervalTrigger: unit must be 'iteration' or 'epoch', "
                                         "got 'epochs'"):
        IntervalTrigger(1, 'epochs')
    with pytest.raises(ValueError, match='IntervalTrigger: period must be a positive number'):
        IntervalTrigger(0, 'iteration')
    with pytest.raises(ValueError, match='period must be an integer for iterations'):
        IntervalTrigger(1.5, 'iteration')
    with pytest.raises(TypeError, match=r'get_trigger: trigger must be .* got 5'):
        get_trigger(5)
