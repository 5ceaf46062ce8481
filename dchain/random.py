"""The random numbers behind initializers, dropout and shuffling: NumPy's global random state.

As in Chainer, every draw that does not get its own generator comes from NumPy's global
random state, so ``numpy.random.seed(n)`` (how Chainer programs make their runs repeatable)
makes dchain's draws repeatable too, and ``dchain.random.seed(n)`` is the same as
``numpy.random.seed(n)``. Draws are made on the host, so a model initializes the same on the
CPU and on a GPU.

``get_generator()`` returns an object with the methods of ``numpy.random.Generator`` that dchain
uses (``normal``, ``uniform``, ``standard_normal``, ``random``, ``integers``, ``binomial``,
``permutation``, ``choice``, ``shuffle``), drawing from the global state at the time of each call.
"""
import numbers

import numpy


class _GlobalGenerator:
    """Generator-style methods over NumPy's global ``RandomState`` (``numpy.random.*``)."""

    def normal(self, loc=0.0, scale=1.0, size=None):
        return numpy.random.normal(loc, scale, size)

    def uniform(self, low=0.0, high=1.0, size=None):
        return numpy.random.uniform(low, high, size)

    def standard_normal(self, size=None, dtype=numpy.float64):
        return numpy.asarray(numpy.random.standard_normal(size)).astype(dtype, copy=False)

    def random(self, size=None, dtype=numpy.float64):
        values = numpy.random.random_sample(size)
        return values if dtype == numpy.float64 else numpy.asarray(values).astype(dtype)

    def integers(self, low, high=None, size=None, dtype=numpy.int64, endpoint=False):
        if high is None:
            low, high = 0, low
        return numpy.random.randint(low, high + 1 if endpoint else high, size, dtype)

    def binomial(self, n, p, size=None):
        return numpy.random.binomial(n, p, size)

    def permutation(self, x):
        return numpy.random.permutation(x)

    def choice(self, a, size=None, replace=True, p=None):
        return numpy.random.choice(a, size, replace, p)

    def shuffle(self, x):
        numpy.random.shuffle(x)

    def __repr__(self):
        return '<the global random state of NumPy>'


_generator = _GlobalGenerator()


def seed(value=None):
    """Reseed NumPy's global random state, which dchain draws from (None: fresh entropy).

    Args:
        value (int or None): a seed in [0, 2**32).
    """
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                              or not 0 <= value < 2 ** 32):
        raise ValueError('dchain.random.seed: value must be None or an int in [0, 2**32), got '
                         '{!r}'.format(value))
    numpy.random.seed(value)


def get_generator():
    """The generator used when no other is given: draws from NumPy's global random state."""
    return _generator


def get_state():
    """The global random state as a JSON-serializable dict, for checkpoints."""
    state = numpy.random.get_state(legacy=False)
    inner = dict(state['state'])
    inner['key'] = [int(k) for k in inner['key']]
    return dict(state, state=inner)


def set_state(state):
    """Restore a state returned by ``get_state``.

    A state of another kind of generator (older dchain checkpoints kept a PCG64 one) is
    ignored: the current state stays.
    """
    if state.get('bit_generator') != 'MT19937':
        return
    inner = dict(state['state'])
    inner['key'] = numpy.asarray(inner['key'], dtype=numpy.uint32)
    numpy.random.set_state(dict(state, state=inner))
