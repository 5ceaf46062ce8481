"""Loss scaling for float16 training: static (``set_loss_scale``) or dynamic
(``loss_scaling()``), with Chainer's names and arithmetic. Mixed into ``Optimizer``.

The loss is multiplied by the scale before backward, so small float16 gradients do not flush
to zero, and the gradients are divided by it again before the update. With dynamic scaling,
a step whose gradients hold an inf or a NaN is skipped and the scale halved; every good step
multiplies it by ``2 ** (1 / interval)`` (by 2 until the first overflow), so it doubles after
``interval`` good steps; it stays within [1, 65504]. In data-parallel training the check
reads the gradients summed over the ranks, the same on every rank, so every rank skips the
same steps and keeps the same scale.
"""
import math
import numbers
import warnings

from dchain import backend
from dchain.serializers.base import Deserializer


class LossScaling:
    """Static and dynamic loss scaling (see the module docstring)."""

    _loss_scale = None
    _loss_scaling_is_dynamic = False
    _loss_scaling_multiplier = 2.0
    _loss_scaling_isnan = False
    _loss_scaling_isnan_ever = False
    _loss_scale_max = 65504.0  # the largest float16

    @property
    def loss_scale(self):
        """The current loss scale (None without loss scaling)."""
        return self._loss_scale

    def set_loss_scale(self, loss_scale):
        """Scale the loss by ``loss_scale`` in ``update(lossfun, ...)``'s backward (static loss
        scaling for float16); the gradients are divided by it again before the hooks and the
        update. None turns loss scaling off (static and dynamic)."""
        label = type(self).__name__
        if loss_scale is not None:
            if isinstance(loss_scale, bool) or not isinstance(loss_scale, numbers.Real):
                raise TypeError('{}.set_loss_scale: loss_scale must be a real number, got {}'
                                .format(label, type(loss_scale).__name__))
            if not loss_scale > 0:
                raise ValueError('{}.set_loss_scale: loss_scale must be positive, got {}'.format(
                    label, loss_scale))
        self._loss_scale = loss_scale
        self._loss_scaling_is_dynamic = False

    def loss_scaling(self, interval=1000, scale=None):
        """Configure loss scaling (Chainer's signature).

        Args:
            interval (int): with dynamic scaling, the number of good steps over which the
                scale doubles (once a step has overflowed; before that it doubles every
                step, to find the largest safe scale quickly).
            scale (float): a static scale; None chooses dynamic scaling, starting at 1.
        """
        label = type(self).__name__
        if scale is not None:
            self.set_loss_scale(scale)
            return
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError('{}.loss_scaling: interval must be an int >= 1, got {!r}'.format(
                label, interval))
        self._loss_scale = 1.0
        self._loss_scaling_is_dynamic = True
        self._loss_scaling_multiplier = math.pow(2.0, 1.0 / interval)
        self._loss_scaling_isnan = False
        self._loss_scaling_isnan_ever = False

    def check_nan_in_grads(self):
        """With dynamic scaling, note whether some gradient holds an inf or a NaN (then
        ``is_safe_to_update`` is False and a warning names the parameter)."""
        self._loss_scaling_isnan = False
        if not self._loss_scaling_is_dynamic:
            return
        checks = []
        for name, param in self.target.namedparams(include_uninit=False):
            grad = param.grad
            if grad is not None:
                xp = backend.get_array_module(grad)
                checks.append((name, xp.isfinite(grad).all()))
        bad = [name for name, finite in checks if not bool(finite)]
        if bad:
            self._loss_scaling_isnan = True
            self._loss_scaling_isnan_ever = True
            warnings.warn('{}: non-finite gradient of {} (update {}, loss scale {:g}): the '
                          'step is skipped and the scale halved'.format(
                              type(self).__name__, ', '.join(bad), self.t + 1,
                              self._loss_scale))

    def is_safe_to_update(self):
        """False when the last ``check_nan_in_grads`` found an inf or a NaN."""
        return not self._loss_scaling_isnan

    def update_loss_scale(self):
        """With dynamic scaling: halve the scale after a bad step, grow it after a good one."""
        if not self._loss_scaling_is_dynamic:
            return
        if self._loss_scaling_isnan:
            multiplier = 0.5
        elif self._loss_scaling_isnan_ever:
            multiplier = self._loss_scaling_multiplier
        else:
            multiplier = 2.0
        self._loss_scale = max(1.0, min(self._loss_scale_max, self._loss_scale * multiplier))

    def _serialize_loss_scaling(self, serializer):
        """Save or load the dynamic scale, so a resumed run scales as an uninterrupted one (a
        file without it, e.g. Chainer's, leaves the current scale)."""
        if not self._loss_scaling_is_dynamic:
            return
        if isinstance(serializer, Deserializer):
            try:
                scale = serializer('loss_scale', float(self._loss_scale))
                ever = serializer('loss_scaling_isnan_ever', bool(self._loss_scaling_isnan_ever))
            except KeyError:
                return
            self._loss_scale = float(scale)
            self._loss_scaling_isnan_ever = bool(ever)
        else:
            serializer('loss_scale', self._loss_scale)
            serializer('loss_scaling_isnan_ever', self._loss_scaling_isnan_ever)
