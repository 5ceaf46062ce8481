"""EarlyStoppingTrigger: a stop trigger that fires when a monitored value stops improving."""
import math
import operator
import warnings

from dchain import reporter
from dchain.training.triggers.interval_trigger import get_trigger

_MODES = ('auto', 'min', 'max')


class EarlyStoppingTrigger:
    """Stop the training when ``monitor`` has not improved for ``patience`` checks.

    Use it as the Trainer's stop trigger::

        trainer = Trainer(updater, EarlyStoppingTrigger(monitor='validation/main/loss',
                                                        patience=3, max_trigger=(50, 'epoch')))

    At every call (every iteration) it adds ``observation[monitor]``, when present, to a
    running mean. At each ``check_trigger`` it compares the mean over the interval with the
    best mean so far: a better one becomes the best and resets the count, any other adds one
    to it; the trigger fires when the count reaches ``patience``. It fires at
    ``max_trigger`` in any case. A check whose last observation lacks ``monitor`` is skipped
    with a warning (Chainer's behaviour: e.g. before the first evaluation).

    Args:
        check_trigger: when to compare, ``(1, 'epoch')`` by default.
        monitor (str): the observation key to watch, 'main/loss' by default.
        patience (int): how many checks without improvement stop the training (3).
        mode (str): 'min' (lower is better), 'max', or 'auto': 'max' when ``monitor``
            contains 'accuracy', else 'min'.
        verbose (bool): print the comparison mode and when it stops.
        max_trigger: the longest training, ``(100, 'epoch')`` by default.
        patients: Chainer's older name of ``patience``.

    Attributes:
        best (float): the best mean so far (``inf`` or ``-inf`` before the first check).
        count (int): checks since the best one.
    """

    def __init__(self, check_trigger=(1, 'epoch'), monitor='main/loss', patience=None,
                 mode='auto', verbose=False, max_trigger=(100, 'epoch'), patients=None):
        if patience is not None and patients is not None:
            raise TypeError('EarlyStoppingTrigger: give patience or its older name patients, '
                            'not both')
        if patience is None:
            patience = 3 if patients is None else patients
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError('EarlyStoppingTrigger: patience must be a positive int, got {!r}'
                             .format(patience))
        if mode not in _MODES:
            raise ValueError('EarlyStoppingTrigger: mode must be one of {}, got {!r}'.format(
                _MODES, mode))
        if mode == 'auto':
            mode = 'max' if 'accuracy' in monitor else 'min'
        self.monitor = monitor
        self.patience = patience
        self.mode = mode
        self.verbose = verbose
        self.count = 0
        self._compare = operator.gt if mode == 'max' else operator.lt
        self.best = -math.inf if mode == 'max' else math.inf
        self._interval_trigger = get_trigger(check_trigger)
        self._max_trigger = get_trigger(max_trigger)
        self._summary = reporter.DictSummary()
        if verbose:
            print('early stopping: operator is {}'.format(
                'greater' if mode == 'max' else 'less'))

    def __call__(self, trainer):
        """True when the training should stop now."""
        observation = trainer.observation
        if self.monitor in observation:
            self._summary.add({self.monitor: observation[self.monitor]})
        if self._max_trigger(trainer):
            return True
        if not self._interval_trigger(trainer):
            return False
        if self.monitor not in observation:
            warnings.warn('EarlyStoppingTrigger: {!r} is not in the observation at this check '
                          '(observed: {}); the check is skipped'.format(
                              self.monitor, sorted(observation)))
            return False
        value = self._summary.compute_mean()[self.monitor]
        self._summary = reporter.DictSummary()
        self.update(float(value))
        if self._stop_condition():
            if self.verbose:
                print('Epoch {}: early stopping'.format(trainer.updater.epoch))
            return True
        return False

    def update(self, value):
        """Count one check of ``value`` against the best so far."""
        if self._compare(value, self.best):
            self.best = value
            self.count = 0
        else:
            self.count += 1

    def _stop_condition(self):
        return self.count >= self.patience

    def get_training_length(self):
        """The length of ``max_trigger`` (what a progress bar shows)."""
        return self._max_trigger.get_training_length()

    def serialize(self, serializer):
        """Save or load the count, the best value, the running mean and the triggers' state,
        so a resumed run stops where an uninterrupted one would."""
        try:
            self.count = int(serializer('count', self.count))
        except KeyError:  # a snapshot written by Chainer, whose trigger keeps no state
            return
        self.best = float(serializer('best', self.best))
        self._summary.serialize(serializer['summary'])
        for name, trigger in (('interval_trigger', self._interval_trigger),
                              ('max_trigger', self._max_trigger)):
            if hasattr(trigger, 'serialize'):
                trigger.serialize(serializer[name])
