"""The Bernoulli distribution."""
from dchain import backend
from dchain import functions as F
from dchain import random as _random
from dchain.distributions.distribution import Distribution, as_parameter, register_kl
from dchain.variable import Variable


class Bernoulli(Distribution):
    """The Bernoulli distribution: 1 with probability ``p``, 0 otherwise, elementwise.

    Args:
        p (Variable or array): the probability of 1, of shape ``batch_shape`` (float).
        logit (Variable or array): ``log(p / (1 - p))``, in place of ``p`` (exactly one of the
            two is given); the numerically stable choice for a network's output.
        binary_check (bool): ``log_prob(x)`` is ``-inf`` where ``x`` is neither 0 nor 1
            (without it, ``x`` is used as it is, e.g. for grey-level targets).
    """

    def __init__(self, p=None, logit=None, binary_check=False):
        if (p is None) == (logit is None):
            raise ValueError('Bernoulli: give exactly one of p and logit')
        self._p = None if p is None else as_parameter('Bernoulli', 'p', p)
        self._logit = None if logit is None else as_parameter('Bernoulli', 'logit', logit)
        self.binary_check = binary_check

    @property
    def p(self):
        """The probability of 1 (a Variable)."""
        if self._p is None:
            self._p = F.sigmoid(self._logit)
        return self._p

    @property
    def logit(self):
        """``log(p) - log(1 - p)`` (a Variable)."""
        if self._logit is None:
            self._logit = F.log(self._p) - F.log(1.0 - self._p)
        return self._logit

    @property
    def batch_shape(self):
        return (self._p if self._p is not None else self._logit).shape

    @property
    def xp(self):
        return (self._p if self._p is not None else self._logit).xp

    @property
    def params(self):
        return {'logit': self.logit}

    @property
    def mean(self):
        return self.p

    @property
    def variance(self):
        return self.p * (1.0 - self.p)

    @property
    def entropy(self):
        """``softplus(logit) - p * logit``, elementwise."""
        return F.softplus(self.logit) - self.p * self.logit

    def log_prob(self, x):
        """``x * logit - softplus(logit)`` (``log p`` at 1, ``log(1 - p)`` at 0)."""
        logit = self.logit
        value = x * logit - F.softplus(logit)
        if not self.binary_check:
            return value
        data = x.array if isinstance(x, Variable) else x
        xp = backend.get_array_module(data)
        binary = xp.logical_or(data == 0, data == 1)
        if binary.shape != value.shape:
            binary = xp.broadcast_to(binary, value.shape)
        return F.where(binary, value, xp.asarray(-xp.inf, value.dtype))

    def sample_n(self, n):
        """``n`` draws of 0 or 1 (int64, as in Chainer; not differentiable)."""
        p = self.p.array
        draws = _random.get_generator().binomial(1, backend.to_cpu(p), (n,) + p.shape)
        return Variable(backend.get_device_from_array(p).send(draws.astype('int64')),
                        requires_grad=False)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(dist1, dist2):
    # log p = -softplus(-logit), log(1 - p) = -softplus(logit)
    logit1, logit2 = dist1.logit, dist2.logit
    p1 = dist1.p
    return (p1 * (F.softplus(-logit2) - F.softplus(-logit1))
            + (1.0 - p1) * (F.softplus(logit2) - F.softplus(logit1)))
