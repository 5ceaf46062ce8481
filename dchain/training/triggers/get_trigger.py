"""get_trigger: turn a ``(period, unit)`` tuple, a callable or None into a trigger."""
from dchain.training.triggers.interval_trigger import IntervalTrigger


def _never_fire_trigger(trainer):
    return False


def get_trigger(trigger):
    """Return ``trigger`` if callable, a never-firing trigger for None, else
    ``IntervalTrigger(*trigger)`` for a ``(period, unit)`` pair."""
    if callable(trigger):
        return trigger
    if trigger is None:
        return _never_fire_trigger
    if not isinstance(trigger, (tuple, list)) or len(trigger) != 2:
        raise TypeError("get_trigger: trigger must be a callable, None or a (period, unit) pair "
                        "like (1, 'epoch'), got {!r}".format(trigger))
    return IntervalTrigger(*trigger)
