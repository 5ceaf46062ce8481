"""The Distribution base class and the registry of closed-form KL divergences."""
import numbers

from dchain import backend
from dchain import random as _random
from dchain.variable import Variable, _is_array, _type_name


def as_parameter(label, name, value):
    """``value`` (a Variable or a float array) as a Variable; anything else is refused."""
    if isinstance(value, Variable):
        array = value.array
    elif _is_array(value):
        array = value
        value = Variable(value, requires_grad=False)
    else:
        raise TypeError('{}: {} must be a Variable or an array, got {}'.format(
            label, name, _type_name(value)))
    if array.dtype.kind != 'f':
        raise TypeError('{}: {} must be a float array, got {}'.format(label, name, array.dtype))
    return value


def sample_shape_of(label, sample_shape):
    """``sample_shape`` (an int or a tuple of ints) as a tuple."""
    if isinstance(sample_shape, numbers.Integral) and not isinstance(sample_shape, bool):
        sample_shape = (sample_shape,)
    try:
        shape = tuple(int(n) for n in sample_shape)
    except TypeError:
        raise TypeError('{}.sample: sample_shape must be an int or a tuple of ints, got {!r}'
                        .format(label, sample_shape)) from None
    if any(n < 0 for n in shape):
        raise ValueError('{}.sample: sample_shape must not be negative, got {}'.format(
            label, shape))
    return shape


def standard_normal(like, shape):
    """Standard normal draws of ``shape`` in ``like``'s dtype, on ``like``'s device."""
    values = _random.get_generator().standard_normal(shape).astype(like.dtype)
    return backend.get_device_from_array(like.array).send(values)


class Distribution:
    """Base class of distributions.

    A distribution has a ``batch_shape`` (independent distributions side by side) and an
    ``event_shape`` (the shape of one draw). ``sample(sample_shape)`` returns Variables of
    shape ``sample_shape + batch_shape + event_shape``; ``log_prob(x)`` one value per batch
    element.
    """

    @property
    def batch_shape(self):
        raise NotImplementedError

    @property
    def event_shape(self):
        return ()

    @property
    def xp(self):
        """numpy or cupy, whichever holds the parameters."""
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError('{} has no mean'.format(type(self).__name__))

    @property
    def variance(self):
        raise NotImplementedError('{} has no variance'.format(type(self).__name__))

    @property
    def stddev(self):
        """The standard deviation, ``sqrt(variance)``."""
        from dchain.functions import sqrt
        return sqrt(self.variance)

    @property
    def entropy(self):
        raise NotImplementedError('{} has no entropy'.format(type(self).__name__))

    def log_prob(self, x):
        """The log of the probability (density) of ``x``."""
        raise NotImplementedError('{} has no log_prob'.format(type(self).__name__))

    def prob(self, x):
        """The probability (density) of ``x``, ``exp(log_prob(x))``."""
        from dchain.functions import exp
        return exp(self.log_prob(x))

    def sample_n(self, n):
        """``n`` draws: a Variable of shape ``(n,) + batch_shape + event_shape``."""
        raise NotImplementedError('{} cannot be sampled'.format(type(self).__name__))

    def sample(self, sample_shape=()):
        """Draws of shape ``sample_shape + batch_shape + event_shape`` (``sample_shape``: an
        int or a tuple)."""
        from dchain.functions import reshape
        shape = sample_shape_of(type(self).__name__, sample_shape)
        n = 1
        for size in shape:
            n *= size
        samples = self.sample_n(n)
        return reshape(samples, shape + samples.shape[1:])

    def __repr__(self):
        return '{}(batch_shape={}, event_shape={})'.format(
            type(self).__name__, self.batch_shape, self.event_shape)


_KL = {}


def register_kl(type1, type2):
    """Decorator registering ``function(dist1, dist2)`` as the KL divergence of a
    ``type1`` distribution from a ``type2`` one, for ``kl_divergence``."""
    def register(function):
        _KL[type1, type2] = function
        return function
    return register


def kl_divergence(dist1, dist2):
    """The Kullback-Leibler divergence ``KL(dist1 || dist2)``, per batch element.

    Args:
        dist1, dist2 (Distribution): pairs with a registered closed form (Normal/Normal,
            Bernoulli/Bernoulli, Independent/Independent over such).
    Returns:
        Variable: of the broadcast batch shape of the two distributions.
    """
    for type1 in type(dist1).__mro__:
        for type2 in type(dist2).__mro__:
            function = _KL.get((type1, type2))
            if function is not None:
                return function(dist1, dist2)
    raise NotImplementedError('kl_divergence: no closed form is registered for {} and {}'.format(
        type(dist1).__name__, type(dist2).__name__))
