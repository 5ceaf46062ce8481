"""FailOnNonNumber: stop training as soon as a parameter turns NaN (or infinite)."""
import numpy

from dchain.training import extension


class FailOnNonNumber(extension.Extension):
    """After each update, check every parameter of every optimizer's target and raise
    RuntimeError naming the optimizer and parameter when one holds NaN (or, with
    ``raise_on_nonfinite``, an infinity).

    Args:
        raise_on_nonfinite (bool): also fail on +-inf.
    """

    def __init__(self, raise_on_nonfinite=False):
        self._raise_on_nonfinite = raise_on_nonfinite

    def __call__(self, trainer):
        """Raise RuntimeError if a parameter diverged."""
        updater = trainer.updater
        for name, optimizer in updater.get_all_optimizers().items():
            target = optimizer.target
            xp = target.xp
            # one reduction over each parameter; a sum is NaN if any element is NaN, or
            # inf/NaN if any is infinite, so a single scalar per parameter is read back
            for path, param in target.namedparams(include_uninit=False):
                with numpy.errstate(over='ignore', invalid='ignore'):
                    total = xp.sum(param.array)
                bad = xp.isnan(total) if not self._raise_on_nonfinite else ~xp.isfinite(total)
                if bad and self._has_bad(xp, param.array):
                    raise RuntimeError(
                        'FailOnNonNumber: parameter {} of optimizer {!r} holds {} at iteration '
                        '{}: training diverged; lower the learning rate or look for an '
                        'invalid loss'.format(path, name, 'NaN' if not self._raise_on_nonfinite
                                              else 'NaN or inf', updater.iteration))

    def _has_bad(self, xp, array):
        # the sum overflows to inf for large finite values; confirm element-wise
        if self._raise_on_nonfinite:
            return not bool(xp.isfinite(array).all())
        return bool(xp.isnan(array).any())
