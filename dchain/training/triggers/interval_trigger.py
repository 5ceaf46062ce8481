"""IntervalTrigger: fires every ``period`` iterations or epochs; ``get_trigger`` makes one from
a ``(period, unit)`` pair."""

import numbers

_UNITS = ('iteration', 'epoch')


def check_unit(owner, unit):
    """Refuse a unit other than 'iteration' or 'epoch'."""
    if unit not in _UNITS:
        raise ValueError("{}: unit must be 'iteration' or 'epoch', got {!r}".format(owner, unit))


class IntervalTrigger:
    """Trigger that fires each time the iteration count or the epoch crosses a multiple of
    ``period``.

    Fractional periods are allowed in epochs (``(0.5, 'epoch')``); the trigger reads the
    updater's ``iteration`` and ``epoch_detail``. Its state is serialized, so a resumed run
    fires at the same points as an uninterrupted one.

    Args:
        period (int or float): length of the interval (an int for iterations).
        unit (str): 'iteration' or 'epoch'.
    """

    def __init__(self, period, unit):
        check_unit('IntervalTrigger', unit)
        if isinstance(period, bool) or not isinstance(period, numbers.Real) or not period > 0:
            raise ValueError('IntervalTrigger: period must be a positive number, got {!r}'.format(
                period))
        if unit == 'iteration' and period != int(period):
            raise ValueError('IntervalTrigger: period must be an integer for iterations, '
                             'got {!r}'.format(period))
        self.period = period
        self.unit = unit
        self._previous_iteration = 0
        self._previous_epoch_detail = 0.0
        self.count = 0

    def __call__(self, trainer):
        """True when the updater crossed a multiple of the period since the last call."""
        updater = trainer.updater
        if self.unit == 'epoch':
            epoch_detail = updater.epoch_detail
            previous = self._previous_epoch_detail
            if previous < 0:  # state from a snapshot that lacked it
                previous = updater.previous_epoch_detail or 0.0
            self.count = epoch_detail // self.period
            fire = previous // self.period != self.count
        else:
            iteration = updater.iteration
            previous = self._previous_iteration
            if previous < 0:
                previous = iteration - 1
            fire = previous // self.period != iteration // self.period
        self._previous_iteration = updater.iteration
        self._previous_epoch_detail = getattr(updater, 'epoch_detail', 0.0)
        return fire

    def get_training_length(self):
        """``(period, unit)``: how long a run stopped by this trigger lasts."""
        return self.period, self.unit

    def serialize(self, serializer):
        """Save or load the last seen iteration and epoch."""
        self._previous_iteration = int(serializer('previous_iteration', self._previous_iteration))
        self._previous_epoch_detail = float(
            serializer('previous_epoch_detail', self._previous_epoch_detail))

    def __str__(self):
        return '{}({}, {!r})'.format(type(self).__name__, self.period, self.unit)

    __repr__ = __str__


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
