"""WalkerAlias: O(1) sampling of ids by weight (Walker's alias method)."""
import numpy

from dchain import backend


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
