"""Observations over every rank: ObservationAggregator and MultiNodeEarlyStoppingTrigger.

A rank's reporter sees only its own shard of each global batch (``main/loss`` on rank 0 is the
loss of rank 0's samples). ``ObservationAggregator`` replaces such a value by the mean over
all ranks, and ``MultiNodeEarlyStoppingTrigger`` makes Chainer's early-stopping decision from
that mean, so every rank stops at the same iteration.

Both communicate when their ``comm_trigger`` / ``check_trigger`` fires: an interval of
iterations or epochs, which fires at the same iteration on every rank. They must be given to
the trainer on every rank (not only on rank 0), as every rank takes part in the exchange.
"""
from dchain import backend
from dchain.training import extension
from dchain.training.triggers import EarlyStoppingTrigger, get_trigger
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

    Chainer's ``EarlyStoppingTrigger`` on the mean over ranks: at each check the values of
    ``monitor`` observed since the previous check on every rank are averaged (by an
    ``ObservationAggregator`` writing ``monitor + suffix``), and ``EarlyStoppingTrigger``
    compares that mean with the best so far; after ``patience`` checks in a row without
    improvement it fires, at the same iteration on every rank. It also fires when
    ``max_trigger`` does. Use it as the trainer's stop trigger on every rank::

        stop = distributed.MultiNodeEarlyStoppingTrigger(comm, monitor='validation/main/loss',
                                                         max_trigger=(100, 'epoch'))
        trainer = training.Trainer(updater, stop)

    Args:
        comm: a dchain.distributed communicator.
        check_trigger: when to compare, ``(period, unit)`` (``(1, 'epoch')``).
        monitor (str): the observation to watch.
        patience (int): checks without improvement before stopping (3); ``patients`` is
            accepted as Chainer's older name.
        mode (str): ``'min'``, ``'max'``, or ``'auto'``: max when ``monitor`` contains
            'accuracy', else min.
        verbose (bool): print when the trigger fires because of early stopping.
        max_trigger: stop unconditionally at this point, ``(100, 'epoch')``.
        suffix (str): the suffix of the aggregated observation's key.

    Attributes: ``actual_trigger`` (the EarlyStoppingTrigger, with ``best`` and ``count``),
    ``aggregator`` (the ObservationAggregator).
    """

    def __init__(self, comm, *, check_trigger=(1, 'epoch'), monitor='main/loss', patience=None,
                 mode='auto', verbose=False, max_trigger=(100, 'epoch'), suffix='_aggregated',
                 **kwargs):
        if not isinstance(monitor, str):
            raise TypeError('MultiNodeEarlyStoppingTrigger: monitor must be a str, got {}'
                            .format(type(monitor).__name__))
        unknown = sorted(set(kwargs) - {'patients'})
        if unknown:
            raise TypeError('MultiNodeEarlyStoppingTrigger: unexpected arguments {}'.format(
                ', '.join(unknown)))
        self.comm = comm
        self.monitor = monitor
        self.aggregated_key = monitor + suffix
        self.actual_trigger = EarlyStoppingTrigger(
            check_trigger=check_trigger, monitor=self.aggregated_key, patience=patience,
            mode=_mode(mode, monitor), verbose=verbose, max_trigger=max_trigger, **kwargs)
        self.aggregator = ObservationAggregator(comm, monitor, self.aggregated_key,
                                                comm_trigger=check_trigger)

    @property
    def best(self):
        """The best mean over ranks so far."""
        return self.actual_trigger.best

    @property
    def count(self):
        """Checks since the best one."""
        return self.actual_trigger.count

    @property
    def patience(self):
        """Checks without improvement that stop the training."""
        return self.actual_trigger.patience

    @property
    def mode(self):
        """'min' or 'max'."""
        return self.actual_trigger.mode

    def __call__(self, trainer):
        """True when training should stop (the same answer on every rank)."""
        self.aggregator(trainer)
        return self.actual_trigger(trainer)

    def _stop_condition(self):
        return self.actual_trigger._stop_condition()

    def get_training_length(self):
        """The ``(period, unit)`` of ``max_trigger``: the longest the run can last."""
        return self.actual_trigger.get_training_length()

    def serialize(self, serializer):
        """Save or load the early-stopping state and the aggregator's trigger."""
        self.actual_trigger.serialize(serializer)
        self.aggregator.serialize(serializer['aggregator'])


def _mode(mode, monitor):
    # 'auto' decided from the monitored key, not from the aggregated one (same words)
    if mode == 'auto' and isinstance(monitor, str):
        return 'max' if 'accuracy' in monitor else 'min'
    return mode
