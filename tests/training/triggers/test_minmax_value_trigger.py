import pytest

from dchain.training.triggers import MaxValueTrigger, MinValueTrigger

from .._fakes import fake_trainer, round_trip, step

# one value per iteration; with (2, 'iteration') the trigger compares means of pairs
VALUES = [4.0, 2.0, 5.0, 5.0, 1.0, 1.0, 0.0, 8.0, 0.5, 0.5]  # pair means 3, 5, 1, 4, 0.5


def _fired(trigger, trainer, values):
    fired = []
    for value in values:
        step(trainer, {'validation/main/loss': value})
        if trigger(trainer):
            fired.append(trainer.updater.iteration)
    return fired


@pytest.mark.parametrize('cls, expected, best', [(MinValueTrigger, [2, 6, 10], 0.5),
                                                 (MaxValueTrigger, [2, 4], 5.0)])
def test_fires_on_new_best(cls, expected, best):
    trigger = cls('validation/main/loss', trigger=(2, 'iteration'))
    assert _fired(trigger, fake_trainer(), VALUES) == expected
    assert trigger.best_value == best


def test_default_checks_each_epoch():
    trigger = MinValueTrigger('validation/main/loss')
    # 4 iterations an epoch: epoch means 4.0 then 2.0
    fired = _fired(trigger, fake_trainer(4), [4, 4, 4, 4, 1, 2, 3, 2])
    assert fired == [4, 8]


@pytest.mark.parametrize('split', [1, 3, 4, 7])
def test_resumed_trigger_keeps_best_and_partial_mean(split):
    first = MinValueTrigger('validation/main/loss', trigger=(2, 'iteration'))
    trainer = fake_trainer()
    head = _fired(first, trainer, VALUES[:split])
    resumed = MinValueTrigger('validation/main/loss', trigger=(2, 'iteration'))
    round_trip(first, resumed)
    assert head + _fired(resumed, trainer, VALUES[split:]) == [2, 6, 10]


def test_missing_key_is_named():
    trigger = MaxValueTrigger('validation/main/accuracy', trigger=(1, 'iteration'))
    trainer = fake_trainer()
    step(trainer, {'main/loss': 1.0})
    with pytest.raises(KeyError, match="'validation/main/accuracy' was not observed.*main/loss"):
        trigger(trainer)
