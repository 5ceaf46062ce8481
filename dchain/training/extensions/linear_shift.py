"""LinearShift: move an optimizer attribute linearly between two values over a time span."""
from dchain.training import extension
from dchain.training.extensions.exponential_shift import _load_optional


class LinearShift(extension.Extension):
    """At the t-th call set ``optimizer.<attr>`` to ``v1`` for ``t <= t1``, ``v2`` for
    ``t >= t2``, and the linear interpolation between (``value_range = (v1, v2)``,
    ``time_range = (t1, t2)``).

    Args:
        attr (str): the optimizer attribute, e.g. 'lr'.
        value_range (tuple of float): ``(v1, v2)``.
        time_range (tuple of int): ``(t1, t2)``, in calls of this extension.
        optimizer: the optimizer to edit; the updater's 'main' optimizer when None.
    """

    def __init__(self, attr, value_range, time_range, optimizer=None):
        if len(value_range) != 2 or len(time_range) != 2:
            raise ValueError('LinearShift: value_range and time_range must be pairs, got {!r} '
                             'and {!r}'.format(value_range, time_range))
        if not time_range[0] < time_range[1]:
            raise ValueError('LinearShift: time_range must be increasing, got {!r}'.format(
                time_range))
        self._attr = attr
        self._value_range = value_range
        self._time_range = time_range
        self._optimizer = optimizer
        self._t = 0
        self._last_value = None

    def initialize(self, trainer):
        """Set the initial value, or on a resumed run the value at the snapshot."""
        value = self._compute_value() if self._last_value is None else self._last_value
        self._update_value(self._get_optimizer(trainer), value)

    def __call__(self, trainer):
        """Advance one step."""
        self._t += 1
        self._update_value(self._get_optimizer(trainer), self._compute_value())

    def _compute_value(self):
        t1, t2 = self._time_range
        v1, v2 = self._value_range
        if self._t <= t1:
            return v1
        if self._t >= t2:
            return v2
        return v1 + (self._t - t1) / (t2 - t1) * (v2 - v1)

    def _get_optimizer(self, trainer):
        return self._optimizer or trainer.updater.get_optimizer('main')

    def _update_value(self, optimizer, value):
        setattr(optimizer, self._attr, value)
        self._last_value = value

    def serialize(self, serializer):
        """Save or load the step count and the current value."""
        self._t = int(serializer('_t', self._t))
        self._last_value = _load_optional(serializer, '_last_value', self._last_value)
