"""The random number generator behind initializers, dropout and shuffling.

``seed(n)`` makes every draw that does not get its own generator repeatable, so two processes
that seed alike build identical models. Draws are made with ``numpy.random.Generator`` on the
host, so a model initializes the same on the CPU and on a GPU.
"""
import numpy

_generator = numpy.random.default_rng()


def seed(value=None):
    """Reseed dchain's global generator (None draws fresh entropy)."""
    global _generator
    _generator = numpy.random.default_rng(value)


def get_generator():
    """The global ``numpy.random.Generator`` used when no other is given."""
    return _generator


def get_state():
    """The global generator's state (a dict), for checkpoints."""
    return _generator.bit_generator.state


def set_state(state):
    """Restore a state returned by ``get_state``."""
    _generator.bit_generator.state = state
