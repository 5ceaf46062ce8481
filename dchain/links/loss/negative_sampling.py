"""NegativeSampling: the word2vec output layer."""
import numbers

import numpy

from dchain import initializers
from dchain.functions.loss.negative_sampling import negative_sampling
from dchain.link import Link
from dchain.variable import Parameter
from dchain.utils.walker_alias import WalkerAlias


class NegativeSampling(Link):
    """Output layer trained by negative sampling (Chainer's ``L.NegativeSampling``); see
    :func:`dchain.functions.negative_sampling`.

    Args:
        in_size (int): the size of the input vectors.
        counts (sequence of numbers): how often each id occurs; negatives are drawn in
            proportion to ``counts ** power``.
        sample_size (int): negatives per example.
        power (float): the exponent that flattens the distribution (0.75, as word2vec).
        dtype: the parameter dtype (``config.dtype`` by default).
    Attributes:
        W (Parameter): the output vectors (len(counts), in_size), zeros at first.
        sampler (WalkerAlias): the negative sampler.

    ``forward(x, t, reduce='sum', return_samples=False)``: x (B, in_size), t int32 (B,).
    """

    def __init__(self, in_size, counts, sample_size, power=0.75, dtype=None):
        super().__init__()
        for label, value in (('in_size', in_size), ('sample_size', sample_size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError('NegativeSampling: {} must be a positive int, got {!r}'
                                 .format(label, value))
        self.sample_size = int(sample_size)
        self.power = power
        self.sampler = WalkerAlias(numpy.power(numpy.asarray(counts, numpy.float64), power))
        vocab_size = len(self.sampler.threshold)
        with self.init_scope():
            self.W = Parameter(initializers.Zero(dtype), (vocab_size, int(in_size)))

    def _sample(self, shape):
        # Drawn on the host (NumPy's random state), used where the link lives.
        return self.device.send(self.sampler.sample(shape))

    def forward(self, x, t, reduce='sum', return_samples=False):
        return negative_sampling(x, t, self.W, self._sample, self.sample_size,
                                 reduce=reduce, return_samples=return_samples)
