"""dropout: zero random elements in training and scale the rest to keep the expectation."""
import numbers

import numpy

from dchain import backend
from dchain.config import config
from dchain.function_node import FunctionNode, check_dtype
from dchain.random import get_generator
from dchain.variable import as_variable


def _make_mask(xp, x, ratio):
    """0 where an element is dropped, ``1 / (1 - ratio)`` elsewhere, in x's dtype.

    NumPy masks come from dchain's seeded generator so ``dchain.random.seed`` repeats them;
    CuPy masks are drawn on the device by cupy.random.
    """
    if xp is numpy:
        uniform = get_generator().random(x.shape, dtype=numpy.float32)
    else:
        uniform = xp.random.random_sample(x.shape, dtype=numpy.float32)
    mask = (uniform >= ratio).astype(x.dtype)
    mask *= 1.0 / (1.0 - ratio)
    return mask


class Dropout(FunctionNode):
    label = 'dropout'

    def __init__(self, ratio, mask):
        self.ratio = ratio
        self.mask = mask

    def check_type_forward(self, inputs):
        x, = inputs
        check_dtype('dropout', 'x', x, 'f', 'a float array')
        mask = self.mask
        if mask is not None and (mask.shape != x.shape or mask.dtype != x.dtype):
            raise ValueError('dropout: mask must have the shape and dtype of x ({} {}), got {} {}'
                             .format(x.shape, x.dtype, mask.shape, mask.dtype))

    def forward(self, inputs):
        x, = inputs
        if self.mask is None:
            self.mask = _make_mask(backend.get_array_module(x), x, self.ratio)
        return x * self.mask,

    def backward(self, indexes, grad_outputs):
        return grad_outputs[0] * self.mask,


def dropout(x, ratio=.5, *, mask=None, return_mask=False):
    """Drop each element of ``x`` with probability ``ratio`` and scale the others by
    ``1 / (1 - ratio)``; in test mode (``config.train`` False) return ``x`` unchanged.

    Args:
        x: a float Variable or array of any shape.
        ratio (float): the probability of dropping an element, in [0, 1).
        mask (array or None): a mask to use instead of a random one (its values multiply x;
            shape and dtype of x, on x's device); ``ratio`` is then ignored.
        return_mask (bool): also return the mask used (None in test mode), for reuse.
    Returns:
        A Variable of x's shape and dtype, or ``(y, mask)`` with ``return_mask``.
    """
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real):
        raise TypeError('dropout: ratio must be a float, got {}'.format(type(ratio).__name__))
    if not 0.0 <= ratio < 1.0:
        raise ValueError('dropout: ratio must be in [0, 1), got {}'.format(ratio))
    if not config.train:
        y = as_variable(x)
        return (y, None) if return_mask else y
    node = Dropout(ratio, mask)
    y = node.apply((x,))[0]
    return (y, node.mask) if return_mask else y
