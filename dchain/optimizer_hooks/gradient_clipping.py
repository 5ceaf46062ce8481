"""GradientClipping: rescale all gradients together so that their global L2 norm is at most
a threshold."""
import math

import numpy

from dchain import backend
from dchain.optimizer import check_real


def _squared_norm(grad):
    x = grad.reshape(-1)
    if x.dtype == numpy.float16:
        x = x.astype(numpy.float32)  # a float16 dot product overflows early
    return x.dot(x)


class GradientClipping:
    """Scales every gradient by ``min(1, threshold / norm)``, where ``norm`` is the L2 norm of
    all the target's gradients taken together.

    Args:
        threshold (float): the largest global L2 norm the gradients keep.
    Attributes:
        threshold (float): the threshold.
        timing (str): 'pre' (before the update) or 'post'.
    """

    name = 'GradientClipping'
    timing = 'pre'

    def __init__(self, threshold):
        check_real('GradientClipping', 'threshold', threshold)
        if threshold < 0:
            raise ValueError('GradientClipping: threshold must be non-negative, got {}'.format(
                threshold))
        self.threshold = threshold

    def __call__(self, opt):
        grads = [param.grad for param in opt.target.params(False) if param.grad is not None]
        if not grads:
            return
        xp = backend.get_array_module(grads[0])
        if xp is numpy:
            norm = math.sqrt(sum(float(_squared_norm(g)) for g in grads))
            if norm <= self.threshold:
                return
            rate = self.threshold / norm
        else:
            # Stay on the device: no synchronization to decide whether to clip.
            norm = xp.sqrt(sum(_squared_norm(g) for g in grads))
            rate = xp.minimum(self.threshold / xp.maximum(norm, 1e-38), 1)
        for grad in grads:
            grad *= rate
