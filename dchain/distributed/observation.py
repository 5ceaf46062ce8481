"""Observations over every rank: ObservationAggregator and MultiNodeEarlyStoppingTrigger.

A rank's reporter sees only its own shard of each global batch (``main/loss`` on rank 0 is the
loss of rank 0's samples). ``ObservationAggregator`` replaces such a value by the mean over
all ranks, and ``MultiNodeEarlyStoppingTrigger`` makes the early-stopping decision from that
mean, so every rank stops at the same iteration.

Both communicate when their ``comm_trigger`` / ``check_trigger`` fires: an interval of
iterations or epochs, which fires at the same iteration on every rank. They must be given to
the trainer on every rank (not only on rank 0), as every rank takes part in the exchange.
"""
import math
import operator
import warnings

import numpy

from dchain import backend
from dchain.training import extension
from dchain.training.triggers import get_trigger
from dchain.variable import Variable


def _host_value(value):
    """A value the ranks can exchange: a Variable's array, on the host."""
    if isinstance(value, Variable):
        value = value.array
    if backend.is_gpu_array(value):
        value = backend.to_cpu(value)
    return value


def average_observations(gathered):
    """ChainerMN's default aggregator: the mean of every value observed on every rank since
    the last exchange (``gathered`` is one list of values per rank). None when no rank
    observed anything."""
    values = [value for values in gathered for value in values]
    if not values:
        return None
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total / len(values)


class ObservationAggregator(extension.Extension):
    """Replace an observed value by its aggregate (the mean by default) over all ranks.

    Called every iteration (priority ``PRIORITY_EDITOR``, so before ``LogReport`` reads the
    observation), it keeps the value of ``original_key`` observed on this rank; when
    ``comm_trigger`` fires, the kept values of every rank are exchanged (one collective, on
    every rank) and ``aggregator`` of them is written to ``aggregated_key``. The result is the
    same on every rank.

    With a ``ShardedIterator`` each rank's value is the mean over its share of the global
    batch; shares differ by at most one sample, so the mean over ranks is the global-batch
    mean exactly when the global batch divides evenly by the number of ranks.

    Args:
        comm: a dchain.distributed communicator.
        original_key (str): the observation to aggregate, e.g. ``'main/loss'``.
        aggregated_key (str): where the result goes; ``original_key`` (overwritten) when None.
        comm_trigger: when to exchange, ``(1, 'iteration')`` by default. It must fire at the
            same iterations on every rank (an interval trigger does).
        aggregator: ``aggregator(gathered)`` -> the result, where ``gathered`` holds one list
            per rank of the values (floats or NumPy arrays) observed there since the last
            exchange; the mean of all of them by default. A None result writes nothing.
    """

    trigger = 1, 'iteration'
    priority = extension.PRIORITY_EDITOR
    name = None

    def __init__(self, comm, original_key, aggregated_key=None, *, comm_trigger=(1, 'iteration'),
                 aggregator=None):
        if not isinstance(original_key, str):
            raise TypeError('ObservationAggregator: original_key must be a str, got {}'.format(
                type(original_key).__name__))
        if aggregated_key is not None and not isinstance(aggregated_key, str):
            raise TypeError('ObservationAggregator: aggregated_key must be a str or None, got '
                            '{}'.format(type(aggregated_key).__name__))
        if aggregator is not None and not callable(aggregator):
            raise TypeError('ObservationAggregator: aggregator must be callable, got {}'.format(
                type(aggregator).__name__))
        self.comm = comm
        self.original_key = original_key
        self.aggregated_key = original_key if aggregated_key is None else aggregated_key
        self.comm_trigger = get_trigger(comm_trigger)
        self.aggregator = aggregator or average_observations
        self.observation_history = []

    def compute_summary(self, trainer):
        """Keep this iteration's value; when the trigger fires, exchange and return the
        aggregate (None otherwise, or when no rank observed the key)."""
        observation = trainer.observation
        if self.original_key in observation:
            self.observation_history.append(_host_value(observation[self.original_key]))
        if not self.comm_trigger(trainer):
            return None
        gathered = self.comm.allgather_obj(self.observation_history)
        self.observation_history = []
        return self.aggregator(gathered)

    def __call__(self, trainer):
        """Write the aggregate into the observation when the trigger fires."""
        summary = self.compute_summary(trainer)
        if summary is not None:
            trainer.observation[self.aggregated_key] = summary

    def serialize(self, serializer):
        """Save or load the communication trigger's position (the values kept since the last
        exchange are this rank's own and are not saved)."""
        if hasattr(self.comm_trigger, 'serialize'):
            self.comm_trigger.serialize(serializer['comm_trigger'])


class MultiNodeEarlyStoppingTrigger:
    """Stop training when a monitored value, averaged over all ranks, stops improving.

    Chainer's ``EarlyStoppingTrigger`` on the mean over ranks: at each check the mean of
    ``monitor`` since the previous check is computed over every rank's observations (by an
    ``ObservationAggregator`` under ``monitor + suffix``) and compared with the best so far;
    after ``patience`` checks in a row without improvement the trigger fires, at the same
    iteration on every rank. It also fires when ``max_trigger`` does. Use it as the
    trainer's stop trigger on every rank::

        stop = distributed.MultiNodeEarlyStoppingTrigger(comm, monitor='validation/main/loss',
                                                         max_trigger=(100, 'epoch'))
        trainer = training.Trainer(updater, stop)

    Args:
        comm: a dchain.distributed communicator.
        check_trigger: when to compare, ``(period, unit)`` (``(1, 'epoch')``).
        monitor (str): the observation to watch.
        patience (int): checks without improvement before stopping (3). ``patients`` is
            accepted as an alias, as in Chainer.
        mode (str): ``'min'``, ``'max'``, or ``'auto'``: max when ``monitor`` contains
            'accuracy', else min.
        verbose (bool): print when the trigger fires because of early stopping.
        max_trigger: stop unconditionally at this point, ``(100, 'epoch')``.
        suffix (str): the suffix of the aggregated observation's key.

    Attributes: ``best`` (the best mean so far), ``count`` (checks since it improved).
    """

    def __init__(self, comm, *, check_trigger=(1, 'epoch'), monitor='main/loss', patience=None,
                 mode='auto', verbose=False, max_trigger=(100, 'epoch'), suffix='_aggregated',
                 **kwargs):
        patients = kwargs.pop('patients', None)
        if kwargs:
            raise TypeError('MultiNodeEarlyStoppingTrigger: unexpected arguments {}'.format(
                ', '.join(sorted(kwargs))))
        if patience is not None and patients is not None:
            raise TypeError('MultiNodeEarlyStoppingTrigger: give patience or its alias '
                            'patients, not both')
        patience = 3 if patience is None and patients is None else \
            (patience if patience is not None else patients)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError('MultiNodeEarlyStoppingTrigger: patience must be a positive int, '
                             'got {!r}'.format(patience))
        if mode not in ('min', 'max', 'auto'):
            raise ValueError("MultiNodeEarlyStoppingTrigger: mode must be 'min', 'max' or "
                             "'auto', got {!r}".format(mode))
        if not isinstance(monitor, str):
            raise TypeError('MultiNodeEarlyStoppingTrigger: monitor must be a str, got {}'
                            .format(type(monitor).__name__))
        if mode == 'auto':
            mode = 'max' if 'accuracy' in monitor else 'min'
        self.comm = comm
        self.monitor = monitor
        self.aggregated_key = monitor + suffix
        self.patience = patience
        self.verbose = verbose
        self.mode = mode
        self._compare = operator.gt if mode == 'max' else operator.lt
        self.best = -math.inf if mode == 'max' else math.inf
        self.count = 0
        self._max_trigger = get_trigger(max_trigger)
        self._interval_trigger = get_trigger(check_trigger)
        # the aggregator keeps every value since the last check and hands back their mean
        self.aggregator = ObservationAggregator(comm, monitor, self.aggregated_key,
                                                comm_trigger=check_trigger)

    def __call__(self, trainer):
        """True when training should stop (the same answer on every rank)."""
        self.aggregator(trainer)
        if self._max_trigger(trainer):
            return True
        if not self._interval_trigger(trainer):
            return False
        value = trainer.observation.get(self.aggregated_key)
        if value is None:
            # no rank observed it: every rank sees the same, so every rank goes on
            warnings.warn('MultiNodeEarlyStoppingTrigger: {!r} was not observed on any rank '
                          'since the last check'.format(self.monitor))
            return False
        value = float(numpy.asarray(value))
        if self._compare(value, self.best):
            self.best = value
            self.count = 0
        else:
            self.count += 1
        if self._stop_condition():
            if self.verbose:
                print('Epoch {}: early stopping'.format(trainer.updater.epoch), flush=True)
            return True
        return False

    def _stop_condition(self):
        return self.count >= self.patience

    def get_training_length(self):
        """The ``(period, unit)`` of ``max_trigger``: the longest the run can last."""
        return self._max_trigger.get_training_length()

    def serialize(self, serializer):
        """Save or load the best value, the count and the triggers' positions."""
        for name, trigger in (('max_trigger', self._max_trigger),
                              ('interval_trigger', self._interval_trigger)):
            if hasattr(trigger, 'serialize'):
                trigger.serialize(serializer[name])
        self.aggregator.serialize(serializer['aggregator'])
        self.best = float(serializer('best', self.best))
        self.count = int(serializer('count', self.count))
