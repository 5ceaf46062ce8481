"""NegativeSampling: the word2vec output layer, with the Walker alias sampler it draws from."""
import numbers

import numpy

from dchain import backend, initializers
from dchain.functions.loss.negative_sampling import negative_sampling
from dchain.link import Link
from dchain.variable import Parameter


class WalkerAlias:
    """Draws ids in proportion to given weights in O(1) per draw (Walker's alias method;
    Chainer's ``utils.WalkerAlias``).

    Args:
        probs: non-negative weights, one per id (need not sum to 1).

    Draws come from NumPy's global random state, so ``numpy.random.seed`` makes them
    repeatable, as in Chainer. ``to_gpu()`` makes ``sample`` return CuPy arrays.
    """

    def __init__(self, probs):
        probs = numpy.asarray(probs, numpy.float64)
        if probs.ndim != 1 or probs.size == 0 or (probs < 0).any() or probs.sum() <= 0:
            raise ValueError('WalkerAlias: probs must be a non-empty 1-D array of non-negative '
                             'weights with a positive sum')
        n = probs.size
        scaled = probs * (n / probs.sum())
        threshold = numpy.ones(n)
        alias = numpy.arange(n, dtype=numpy.int32)
        small = [i for i in range(n) if scaled[i] < 1]
        large = [i for i in range(n) if scaled[i] >= 1]
        while small and large:
            s, g = small.pop(), large.pop()
            threshold[s], alias[s] = scaled[s], g
            scaled[g] -= 1 - scaled[s]
            (small if scaled[g] < 1 else large).append(g)
        self.threshold = threshold
        self.values = alias
        self._device = backend.CPU

    def to_gpu(self):
        """Sample on the current GPU from now on."""
        return self.to_device(backend.get_device('@cupy:0'))

    def to_cpu(self):
        """Sample on the CPU from now on."""
        return self.to_device(backend.CPU)

    def to_device(self, device):
        """Sample on ``device`` from now on."""
        self._device = backend.get_device(device)
        return self

    def sample(self, shape):
        """An int32 array of ``shape`` of ids drawn by the weights."""
        ids = numpy.random.randint(0, len(self.threshold), size=shape)
        accept = numpy.random.uniform(size=shape) < self.threshold[ids]
        return self._device.send(numpy.where(accept, ids, self.values[ids]).astype(numpy.int32))


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

    def to_device(self, device):
        super().to_device(device)
        self.sampler.to_device(device)
        return self

    def forward(self, x, t, reduce='sum', return_samples=False):
        return negative_sampling(x, t, self.W, self.sampler.sample, self.sample_size,
                                 reduce=reduce, return_samples=return_samples)
