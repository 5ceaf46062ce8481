"""ExponentialShift: multiply an optimizer attribute (e.g. the learning rate) at each call."""
import math

from dchain.training import extension


class ExponentialShift(extension.Extension):
    """Set ``optimizer.<attr> = init * rate ** t`` at the t-th call (every iteration by
    default; pass a trigger such as ``(10, 'epoch')`` to ``Trainer.extend``), stopping at
    ``target`` when given.

    Args:
        attr (str): the optimizer attribute, e.g. 'lr' for SGD or 'alpha' for Adam.
        rate (float): the factor per call (non-negative).
        init (float): the first value; the attribute's value at the start of training when
            None.
        target (float): the value not to go beyond; None for no limit.
        optimizer: the optimizer to edit; the updater's 'main' optimizer when None.
    """

    def __init__(self, attr, rate, init=None, target=None, optimizer=None):
        if not rate >= 0:
            raise ValueError('ExponentialShift: rate must be non-negative, got {!r}'.format(rate))
        self._attr = attr
        self._rate = rate
        self._init = init
        self._target = target
        self._optimizer = optimizer
        self._t = 0
        self._last_value = None

    def initialize(self, trainer):
        """Set the initial value, or on a resumed run the value at the snapshot."""
        optimizer = self._get_optimizer(trainer)
        if self._init is None:
            self._init = getattr(optimizer, self._attr)
        value = self._init if self._last_value is None else self._last_value
        self._update_value(optimizer, value)

    def __call__(self, trainer):
        """Advance one step."""
        self._t += 1
        value = self._init * self._rate ** self._t
        target = self._target
        if target is not None:
            # ratios instead of min/max so that negative values clamp the right way too
            if self._rate > 1:
                if value / target > 1:
                    value = target
            elif value / target < 1:
                value = target
        self._update_value(self._get_optimizer(trainer), value)

    def _get_optimizer(self, trainer):
        return self._optimizer or trainer.updater.get_optimizer('main')

    def _update_value(self, optimizer, value):
        setattr(optimizer, self._attr, value)
        self._last_value = value

    def serialize(self, serializer):
        """Save or load the step count, the current value and the initial value."""
        self._t = int(serializer('_t', self._t))
        self._last_value = _load_optional(serializer, '_last_value', self._last_value)
        # the optimizer may restore its own attribute from the same snapshot, so the initial
        # value is kept here rather than read back from it on resume
        try:
            self._init = _load_optional(serializer, '_init', self._init)
        except KeyError:  # a snapshot written without it (as Chainer's)
            pass


def _load_optional(serializer, key, value):
    # NaN stands for None: not every serializer stores None
    value = serializer(key, math.nan if value is None else value)
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value
