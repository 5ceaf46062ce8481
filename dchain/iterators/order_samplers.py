"""Order samplers: what order an iterator visits a dataset in, epoch by epoch."""
import numpy

from dchain import random

_LOW = (1 << 64) - 1


class OrderSampler:
    """Base of order samplers: ``sampler(current_order, current_position)`` returns the order
    of the next epoch, an int array as long as ``current_order``."""

    def __call__(self, current_order, current_position):
        raise NotImplementedError


class ShuffleOrderSampler(OrderSampler):
    """A new random permutation every epoch.

    Args:
        random_state: a ``numpy.random.Generator`` (or ``RandomState``) that the sampler draws
            from; None draws from dchain's global generator, looked up at each draw, so that
            ``dchain.random.seed`` makes the orders repeatable.
    """

    def __init__(self, random_state=None):
        self._random_state = random_state

    def __call__(self, current_order, current_position):
        generator = self._random_state
        if generator is None:
            generator = random.get_generator()
        return generator.permutation(len(current_order))

    def serialize(self, serializer):
        """Save or load the state of the sampler's own generator (key ``rng_state``), so that a
        resumed run draws the same orders as an uninterrupted one. Only a Generator on PCG64
        (``numpy.random.default_rng``'s) is saved: the global generator belongs to the
        checkpoint's random state, other generators are left as they are."""
        bit_generator = getattr(self._random_state, 'bit_generator', None)
        if not isinstance(bit_generator, numpy.random.PCG64):
            return
        state = bit_generator.state
        inner, increment = state['state']['state'], state['state']['inc']
        words = numpy.array([inner >> 64, inner & _LOW, increment >> 64, increment & _LOW,
                             state['has_uint32'], state['uinteger']], dtype=numpy.uint64)
        try:
            words = serializer('rng_state', words)
        except KeyError:  # a snapshot that did not save it (Chainer's): keep the current state
            return
        words = [int(word) for word in numpy.asarray(words)]
        bit_generator.state = {
            'bit_generator': 'PCG64',
            'state': {'state': words[0] << 64 | words[1], 'inc': words[2] << 64 | words[3]},
            'has_uint32': words[4], 'uinteger': words[5]}
