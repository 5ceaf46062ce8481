"""Reporter: how models and extensions hand observed values to the training loop.

``report({'loss': loss}, observer)`` inside a ``reporter.scope(observation)`` block stores
``observation['<observer name>/loss']``. With no active reporter, ``report`` does nothing, so
a model that reports works outside a trainer too. ``Summary``/``DictSummary`` average the
observed values over iterations (``LogReport`` uses them).
"""
import contextlib
import json
import threading

import numpy

from dchain import backend
from dchain.config import config
from dchain.variable import Variable

_local = threading.local()


def _stack():
    stack = getattr(_local, 'stack', None)
    if stack is None:
        stack = _local.stack = []
    return stack


class Reporter:
    """Collects observed values into the current observation dictionary.

    Observers (usually links) are registered with a name prefix, e.g. ``'main'`` for the
    model, so a value ``loss`` reported by it becomes ``main/loss``.
    """

    def __init__(self):
        self._observer_names = {}
        self.observation = {}

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc):
        _stack().pop()

    @contextlib.contextmanager
    def scope(self, observation):
        """Make this reporter current and collect into ``observation`` within the block."""
        old = self.observation
        self.observation = observation
        with self:
            try:
                yield
            finally:
                self.observation = old

    def add_observer(self, name, observer):
        """Register ``observer`` under ``name``."""
        self._observer_names[id(observer)] = name

    def add_observers(self, prefix, observers):
        """Register (name, observer) pairs under ``prefix + name``."""
        for name, observer in observers:
            self._observer_names[id(observer)] = prefix + name

    def report(self, values, observer=None):
        """Store ``values`` (a dict) in the observation, prefixed by the observer's name.

        Variables are stored without their graph (their array), so reporting never keeps a
        computational graph alive; with ``config.keep_graph_on_report`` the Variable itself
        is stored (``extensions.DumpGraph`` draws the graph from it).
        """
        if observer is not None:
            name = self._observer_names.get(id(observer))
            if name is None:
                raise KeyError('report: the observer {} is not registered with the reporter'
                               .format(type(observer).__name__))
            prefix = name + '/'
        else:
            prefix = ''
        keep_graph = config.keep_graph_on_report
        for key, value in values.items():
            if isinstance(value, Variable) and not keep_graph:
                value = value.array
            self.observation[prefix + key] = value


def get_current_reporter():
    """The innermost active Reporter (raises RuntimeError if none)."""
    stack = _stack()
    if not stack:
        raise RuntimeError('get_current_reporter: no reporter is active')
    return stack[-1]


def report(values, observer=None):
    """Report ``values`` to the current reporter; does nothing when none is active."""
    stack = _stack()
    if stack:
        stack[-1].report(values, observer)


@contextlib.contextmanager
def report_scope(observation):
    """Collect values reported inside the block into ``observation`` (a dict)."""
    stack = _stack()
    if not stack:
        reporter = Reporter()
        with reporter.scope(observation):
            yield
        return
    current = stack[-1]
    old = current.observation
    current.observation = observation
    try:
        yield
    finally:
        current.observation = old


def _to_float(value):
    if backend.is_gpu_array(value):
        value = value.get()
    return float(value)


class Summary:
    """Running mean (and standard deviation) of scalars, with optional sample weights."""

    def __init__(self):
        self._x = 0.0
        self._x2 = 0.0
        self._n = 0.0

    def add(self, value, weight=1):
        """Add ``value`` with ``weight``.

        A GPU value stays on the device (the sums become device scalars), so reporting a
        loss every iteration never waits for the GPU; it is read once, when a mean is asked.
        """
        if isinstance(value, Variable):
            value = value.array
        if not backend.is_gpu_array(value):
            value = float(value)
        self._x = self._x + weight * value
        self._x2 = self._x2 + weight * value * value
        self._n += weight

    @property
    def total(self):
        """The weighted sum of the values added."""
        return _to_float(self._x)

    @property
    def weight(self):
        """The sum of the weights."""
        return self._n

    def compute_mean(self):
        """The weighted mean (NaN when empty)."""
        return _to_float(self._x) / self._n if self._n else float('nan')

    def make_statistics(self):
        """The mean and standard deviation."""
        mean = self.compute_mean()
        var = _to_float(self._x2) / self._n - mean * mean if self._n else float('nan')
        return mean, float(numpy.sqrt(max(var, 0.0)))

    def serialize(self, serializer):
        self._x = float(serializer('_x', _to_float(self._x)))
        self._x2 = float(serializer('_x2', _to_float(self._x2)))
        self._n = float(serializer('_n', self._n))


class DictSummary:
    """A Summary per key of reported dictionaries; non-scalar values are skipped."""

    def __init__(self):
        self._summaries = {}

    def add(self, d):
        """Add every scalar value of ``d``; a ``(value, weight)`` tuple carries a weight."""
        for key, value in d.items():
            weight = 1
            if isinstance(value, tuple):
                value, weight = value
            if isinstance(value, Variable):
                value = value.array
            if numpy.isscalar(value) or getattr(value, 'ndim', None) == 0:
                if key not in self._summaries:
                    self._summaries[key] = Summary()
                self._summaries[key].add(value, weight)

    @property
    def summaries(self):
        """The Summary of each key (a dict)."""
        return self._summaries

    def compute_mean(self):
        """A dict of the means per key."""
        return {key: s.compute_mean() for key, s in self._summaries.items()}

    def make_statistics(self):
        """A dict with ``key`` (mean) and ``key.std`` per key."""
        stats = {}
        for key, s in self._summaries.items():
            mean, std = s.make_statistics()
            stats[key] = mean
            stats[key + '.std'] = std
        return stats

    def serialize(self, serializer):
        names = json.loads(str(serializer('_names', json.dumps(list(self._summaries)))))
        for index, name in enumerate(names):
            if name not in self._summaries:
                self._summaries[name] = Summary()
            self._summaries[name].serialize(serializer['_summaries'][str(index)])
