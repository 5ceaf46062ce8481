"""Independent: batch axes of a distribution read as axes of one event."""
import numbers

from dchain import functions as F
from dchain.distributions.distribution import Distribution, kl_divergence, register_kl


class Independent(Distribution):
    """The last ``reinterpreted_batch_ndims`` batch axes of ``distribution`` as event axes.

    ``Independent(Normal(loc, scale), 1)`` with ``loc`` of shape (B, Z) is a batch of B
    diagonal Gaussians over Z dimensions: ``log_prob`` and ``entropy`` sum over the Z axis and
    have shape (B,).

    Args:
        distribution (Distribution): the base distribution.
        reinterpreted_batch_ndims (int or None): how many trailing batch axes become event
            axes; None: all but the first.
    """

    def __init__(self, distribution, reinterpreted_batch_ndims=None):
        if not isinstance(distribution, Distribution):
            raise TypeError('Independent: distribution must be a Distribution, got {}'.format(
                type(distribution).__name__))
        ndim = len(distribution.batch_shape)
        if reinterpreted_batch_ndims is None:
            reinterpreted_batch_ndims = max(ndim - 1, 0)
        if (isinstance(reinterpreted_batch_ndims, bool)
                or not isinstance(reinterpreted_batch_ndims, numbers.Integral)
                or not 0 <= reinterpreted_batch_ndims <= ndim):
            raise ValueError('Independent: reinterpreted_batch_ndims must be an int in [0, {}] '
                             '(the batch axes of the distribution, shape {}), got {!r}'.format(
                                 ndim, distribution.batch_shape, reinterpreted_batch_ndims))
        self.distribution = distribution
        self.reinterpreted_batch_ndims = int(reinterpreted_batch_ndims)

    def _sum_event(self, x):
        n = self.reinterpreted_batch_ndims
        if n == 0:
            return x
        return F.sum(x, axis=tuple(range(x.ndim - n, x.ndim)))

    @property
    def batch_shape(self):
        shape = self.distribution.batch_shape
        return shape[:len(shape) - self.reinterpreted_batch_ndims]

    @property
    def event_shape(self):
        shape = self.distribution.batch_shape
        return shape[len(shape) - self.reinterpreted_batch_ndims:] + \
            self.distribution.event_shape

    @property
    def xp(self):
        return self.distribution.xp

    @property
    def mean(self):
        return self.distribution.mean

    @property
    def variance(self):
        return self.distribution.variance

    @property
    def stddev(self):
        return self.distribution.stddev

    @property
    def entropy(self):
        return self._sum_event(self.distribution.entropy)

    def log_prob(self, x):
        return self._sum_event(self.distribution.log_prob(x))

    def sample_n(self, n):
        return self.distribution.sample_n(n)


@register_kl(Independent, Independent)
def _kl_independent_independent(dist1, dist2):
    if dist1.reinterpreted_batch_ndims != dist2.reinterpreted_batch_ndims:
        raise ValueError('kl_divergence: the Independent distributions reinterpret different '
                         'numbers of batch axes ({} and {})'.format(
                             dist1.reinterpreted_batch_ndims, dist2.reinterpreted_batch_ndims))
    return dist1._sum_event(kl_divergence(dist1.distribution, dist2.distribution))
