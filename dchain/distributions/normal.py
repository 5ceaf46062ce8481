"""The normal (Gaussian) distribution."""
import math

from dchain import functions as F
from dchain.distributions.distribution import (Distribution, as_parameter, register_kl,
                                               standard_normal)

_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


class Normal(Distribution):
    """The normal distribution N(loc, scale**2), elementwise.

    Args:
        loc (Variable or array): the mean, of shape ``batch_shape`` (float16/32/64).
        scale (Variable or array): the standard deviation, broadcastable to ``loc``.
        log_scale (Variable or array): ``log(scale)``, in place of ``scale`` (exactly one of
            the two is given).
    ``sample`` is reparameterized (``loc + scale * eps``), so gradients reach loc and scale.
    """

    def __init__(self, loc, scale=None, log_scale=None):
        loc = as_parameter('Normal', 'loc', loc)
        if (scale is None) == (log_scale is None):
            raise ValueError('Normal: give exactly one of scale and log_scale')
        if scale is not None:
            scale = as_parameter('Normal', 'scale', scale)
            params = (loc, scale)
        else:
            log_scale = as_parameter('Normal', 'log_scale', log_scale)
            params = (loc, log_scale)
        if params[0].dtype != params[1].dtype:
            raise TypeError('Normal: loc and {} must have one dtype, got {} and {}'.format(
                'scale' if scale is not None else 'log_scale', params[0].dtype, params[1].dtype))
        self.loc = loc
        self._scale = scale
        self._log_scale = log_scale

    @property
    def scale(self):
        """The standard deviation (a Variable)."""
        if self._scale is None:
            self._scale = F.exp(self._log_scale)
        return self._scale

    @property
    def log_scale(self):
        """``log(scale)`` (a Variable)."""
        if self._log_scale is None:
            self._log_scale = F.log(self._scale)
        return self._log_scale

    @property
    def batch_shape(self):
        return self.loc.shape

    @property
    def xp(self):
        return self.loc.xp

    @property
    def params(self):
        return {'loc': self.loc, 'scale': self.scale}

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return F.square(self.scale)

    @property
    def stddev(self):
        return self.scale

    @property
    def entropy(self):
        """``log(scale) + log(2 pi e) / 2``, elementwise."""
        return self.log_scale + (_HALF_LOG_TWO_PI + 0.5)

    def log_prob(self, x):
        """``-log(scale) - log(2 pi) / 2 - (x - loc)**2 / (2 scale**2)``, elementwise."""
        z = (x - self.loc) / self.scale
        return -self.log_scale - _HALF_LOG_TWO_PI - 0.5 * F.square(z)

    def sample_n(self, n):
        eps = standard_normal(self.loc, (n,) + self.loc.shape)
        return self.loc + self.scale * eps


@register_kl(Normal, Normal)
def _kl_normal_normal(dist1, dist2):
    ratio = F.square(dist1.scale / dist2.scale)
    difference = F.square((dist1.loc - dist2.loc) / dist2.scale)
    return dist2.log_scale - dist1.log_scale + 0.5 * (ratio + difference) - 0.5
