"""MicroAverage: a ratio of sums over an interval (e.g. accuracy over every example of an
epoch, whatever the batch sizes), reported as a new observation."""
import warnings

from dchain import backend, reporter
from dchain.training import extension
from dchain.training.triggers import get_trigger
from dchain.variable import Variable


def _value(value):
    return value.array if isinstance(value, Variable) else value


class MicroAverage(extension.Extension):
    """Sum ``observation[numerator_key]`` and ``observation[denominator_key]`` at every
    iteration that observes both; when ``trigger`` fires, report ``sum(numerator) /
    sum(denominator)`` as ``result_key`` and start new sums.

    A model reporting the number of correct answers and the number of examples of each batch
    gets the exact accuracy of the interval, where LogReport's mean of per-batch accuracies
    weighs a small last batch like a full one::

        reporter.report({'correct': (y.argmax(1) == t).sum(), 'total': len(t)}, model)
        trainer.extend(extensions.MicroAverage('main/correct', 'main/total', 'main/accuracy'))

    It runs with ``PRIORITY_EDITOR``, after the writers (Evaluator) and before the readers
    (LogReport, PrintReport), which then see ``result_key``.

    Args:
        numerator_key (str): observation key of the numerator.
        denominator_key (str): observation key of the denominator.
        result_key (str): key under which the ratio is reported.
        trigger: when to report, ``(1, 'epoch')`` by default (distinct from the extension's
            own trigger, which is every iteration).
    """

    priority = extension.PRIORITY_EDITOR

    def __init__(self, numerator_key, denominator_key, result_key, trigger=(1, 'epoch')):
        self._trigger = get_trigger(trigger)
        self._numerator_key = numerator_key
        self._denominator_key = denominator_key
        self._result_key = result_key
        self._numerator = 0
        self._denominator = 0

    def __call__(self, trainer):
        """Add this iteration's values; report the ratio when the trigger fires."""
        observation = trainer.observation
        if not (self._numerator_key in observation and self._denominator_key in observation):
            return
        # sums stay on the device they come from; read once, at the trigger
        self._numerator = self._numerator + _value(observation[self._numerator_key])
        self._denominator = self._denominator + _value(observation[self._denominator_key])
        if not self._trigger(trainer):
            return
        numerator = float(backend.to_cpu(self._numerator))
        denominator = float(backend.to_cpu(self._denominator))
        self._numerator = 0
        self._denominator = 0
        if denominator == 0:
            warnings.warn('MicroAverage: the sum of {!r} over the interval is 0; {!r} is '
                          'reported as NaN'.format(self._denominator_key, self._result_key))
            result = float('nan')
        else:
            result = numerator / denominator
        reporter.report({self._result_key: result})

    def serialize(self, serializer):
        """Save or load the running sums (Chainer's keys) and the trigger's state."""
        if hasattr(self._trigger, 'serialize'):
            try:
                self._trigger.serialize(serializer['_trigger'])
            except KeyError:  # a snapshot written by Chainer, which does not save it
                pass
        self._numerator = float(serializer('_numerator', float(backend.to_cpu(self._numerator))))
        self._denominator = float(serializer('_denominator',
                                             float(backend.to_cpu(self._denominator))))
