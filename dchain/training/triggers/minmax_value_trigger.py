"""Triggers that fire when an observed value reaches a new best (MinValue/MaxValue)."""
import math

from dchain import reporter
from dchain.training.triggers.interval_trigger import get_trigger


class BestValueTrigger:
    """Fires, at each check of ``trigger``, when the mean of ``key`` since the last check
    beats the best seen so far according to ``compare(best, new)``.

    Args:
        key (str): observation key, e.g. 'validation/main/loss'.
        compare: ``compare(best_value, new_value)`` -> True when ``new_value`` is better.
        trigger: when to compare, ``(1, 'epoch')`` by default.
    """

    def __init__(self, key, compare, trigger=(1, 'epoch')):
        self._key = key
        self._compare = compare
        self._best_value = None
        self._interval_trigger = get_trigger(trigger)
        self._summary = reporter.DictSummary()

    def __call__(self, trainer):
        """Accumulate the value; at each check, True if it is a new best."""
        key = self._key
        observation = trainer.observation
        if key in observation:
            self._summary.add({key: observation[key]})
        if not self._interval_trigger(trainer):
            return False
        stats = self._summary.compute_mean()
        if key not in stats:
            raise KeyError('{}: key {!r} was not observed; observed keys are {}'.format(
                type(self).__name__, key, sorted(observation)))
        value = float(stats[key])
        self._summary = reporter.DictSummary()
        if self._best_value is None or self._compare(self._best_value, value):
            self._best_value = value
            return True
        return False

    @property
    def best_value(self):
        """The best value seen so far (None before the first check)."""
        return self._best_value

    def serialize(self, serializer):
        """Save or load the interval trigger, the running summary and the best value."""
        if hasattr(self._interval_trigger, 'serialize'):
            self._interval_trigger.serialize(serializer['interval_trigger'])
        self._summary.serialize(serializer['summary'])
        # NaN stands for "no best yet": not every serializer stores None
        best = serializer('best_value', math.nan if self._best_value is None
                          else self._best_value)
        best = None if best is None else float(best)
        self._best_value = None if best is None or math.isnan(best) else best


class MaxValueTrigger(BestValueTrigger):
    """Fires when the value of ``key`` becomes the largest so far (e.g. validation accuracy).

    Args:
        key (str): observation key.
        trigger: when to compare, ``(1, 'epoch')`` by default.
    """

    def __init__(self, key, trigger=(1, 'epoch')):
        super().__init__(key, lambda best, new: new > best, trigger)


class MinValueTrigger(BestValueTrigger):
    """Fires when the value of ``key`` becomes the smallest so far (e.g. validation loss).

    Args:
        key (str): observation key.
        trigger: when to compare, ``(1, 'epoch')`` by default.
    """

    def __init__(self, key, trigger=(1, 'epoch')):
        super().__init__(key, lambda best, new: new < best, trigger)
