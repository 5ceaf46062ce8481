"""The random numbers behind initializers, dropout and shuffling.

Draws that do not get their own generator come from dchain's global generator, which is one
of two things:

- NumPy's global random state (the default), as in Chainer: ``numpy.random.seed(n)``, how
  Chainer programs make their runs repeatable, makes dchain's draws repeatable too;
- dchain's own ``numpy.random.Generator`` once ``seed(n)`` is called: ``dchain.random.seed(n)``
  makes every draw repeatable whatever else uses NumPy's global state (``seed(None)`` returns
  to following NumPy's global state).

Draws are made on the host, so a model initializes the same on the CPU and on a GPU.
``get_generator()`` returns an object with the methods of ``numpy.random.Generator`` that
dchain uses (``normal``, ``uniform``, ``standard_normal``, ``random``, ``integers``,
``binomial``, ``permutation``, ``choice``, ``shuffle``).
"""
import numpy


class _NumpyGlobal:
    """Generator-style methods over NumPy's global ``RandomState`` (``numpy.random.*``),
    looked up at each call, so that ``numpy.random.seed`` takes effect."""

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

    def __deepcopy__(self, memo):
        # a snapshot of the global state: drawing from the copy leaves the global state alone
        copy = numpy.random.RandomState()
        copy.set_state(numpy.random.get_state())
        return copy

    def __repr__(self):
        return '<the global random state of NumPy>'


_NUMPY_GLOBAL = _NumpyGlobal()
_generator = _NUMPY_GLOBAL


def seed(value=None):
    """Seed dchain's own generator with ``value``; None: follow NumPy's global random state
    (the default, where ``numpy.random.seed`` makes draws repeatable).

    Args:
        value: None, or a seed for ``numpy.random.default_rng`` (a non-negative int, or a
            sequence of them).
    """
    global _generator
    if value is None:
        _generator = _NUMPY_GLOBAL
        return
    if isinstance(value, (bool, float)):
        raise ValueError('dchain.random.seed: value must be None or a non-negative int, got '
                         '{!r}'.format(value))
    try:
        _generator = numpy.random.default_rng(value)
    except (TypeError, ValueError) as error:
        raise ValueError('dchain.random.seed: value must be None or a non-negative int, got '
                         '{!r} ({})'.format(value, error)) from None


def get_generator():
    """The generator used when no other is given (see the module's docstring)."""
    return _generator


def get_state():
    """The global generator's state as a JSON-serializable dict, for checkpoints: dchain's own
    generator's (PCG64), or NumPy's global state (MT19937) when dchain follows it."""
    if _generator is not _NUMPY_GLOBAL:
        return _generator.bit_generator.state
    state = numpy.random.get_state(legacy=False)
    inner = dict(state['state'])
    inner['key'] = [int(k) for k in inner['key']]
    return dict(state, state=inner)


def set_state(state):
    """Restore a state returned by ``get_state`` (which also restores which generator is in
    use)."""
    global _generator
    kind = state.get('bit_generator')
    if kind == 'MT19937':
        inner = dict(state['state'])
        inner['key'] = numpy.asarray(inner['key'], dtype=numpy.uint32)
        numpy.random.set_state(dict(state, state=inner))
        _generator = _NUMPY_GLOBAL
    elif kind == 'PCG64':
        generator = numpy.random.default_rng()
        generator.bit_generator.state = state
        _generator = generator
    else:
        raise ValueError('dchain.random.set_state: expected a state from get_state (PCG64 or '
                         'MT19937), got one of {!r}'.format(kind))
