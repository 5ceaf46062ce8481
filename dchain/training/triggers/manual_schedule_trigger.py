"""ManualScheduleTrigger: fires at listed iterations or epochs."""
import numbers

from dchain.training.triggers.interval_trigger import check_unit


class ManualScheduleTrigger:
    """Trigger that fires when the iteration count or the epoch reaches one of ``points``.

    Args:
        points (int, float or list of them): when to fire (ints for iterations).
        unit (str): 'iteration' or 'epoch'.

    ``finished`` turns True once the last point has fired.
    """

    def __init__(self, points, unit):
        check_unit('ManualScheduleTrigger', unit)
        points = list(points) if isinstance(points, (list, tuple)) else [points]
        if not points:
            raise ValueError('ManualScheduleTrigger: points must not be empty')
        for point in points:
            if isinstance(point, bool) or not isinstance(point, numbers.Real):
                raise TypeError('ManualScheduleTrigger: points must be numbers, got {!r}'.format(
                    point))
        self.points = points
        self.unit = unit
        self.finished = False
        self._last = max(points)
        self._previous_iteration = 0
        self._previous_epoch_detail = 0.0

    def __call__(self, trainer):
        """True when a point lies in (previous position, current position]."""
        updater = trainer.updater
        if self.unit == 'epoch':
            current = updater.epoch_detail
            previous = self._previous_epoch_detail
            if previous < 0:
                previous = updater.previous_epoch_detail or 0.0
        else:
            current = updater.iteration
            previous = self._previous_iteration
            if previous < 0:
                previous = current - 1
        fire = any(previous < point <= current for point in self.points)
        if fire and current >= self._last:
            self.finished = True
        self._previous_iteration = updater.iteration
        self._previous_epoch_detail = getattr(updater, 'epoch_detail', 0.0)
        return fire

    def get_training_length(self):
        """``(last point, unit)``."""
        return self._last, self.unit

    def serialize(self, serializer):
        """Save or load the last seen position and ``finished``."""
        self._previous_iteration = int(serializer('previous_iteration', self._previous_iteration))
        self._previous_epoch_detail = float(
            serializer('previous_epoch_detail', self._previous_epoch_detail))
        self.finished = bool(serializer('finished', self.finished))
