"""matmul and batch_matmul, with Chainer's transa/transb flags."""
import numpy

from dchain import backend
from dchain.function_node import FunctionNode, check_same_dtype
from dchain.functions.array.broadcast import sum_to
from dchain.functions.array.reshape import reshape
from dchain.utils import force_array


def _t(x):
    return x.swapaxes(-1, -2)


def product(xp, a, b):
    """``xp.matmul(a, b)``; float16 on the CPU is multiplied in float32 and rounded back.

    NumPy has no BLAS for float16 (a 100x784 by 784x1000 product takes 70 times as long as
    in float32 on one core); GPUs multiply float16 with float32 accumulation too.
    """
    if xp is numpy and (a.dtype == numpy.float16 or b.dtype == numpy.float16):
        wide = numpy.result_type(a.dtype, b.dtype, numpy.float32)
        return xp.matmul(a.astype(wide), b.astype(wide)).astype(
            numpy.result_type(a.dtype, b.dtype))
    return xp.matmul(a, b)


class MatMul(FunctionNode):
    label = 'matmul'

    def __init__(self, transa=False, transb=False):
        self.transa = transa
        self.transb = transb

    def check_type_forward(self, inputs):
        a, b = inputs
        check_same_dtype(self.label, inputs, ('a', 'b'))
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError('matmul: a and b must have at least 2 dimensions here, got shapes '
                             '{} and {}'.format(a.shape, b.shape))
        k_a = a.shape[-2] if self.transa else a.shape[-1]
        k_b = b.shape[-1] if self.transb else b.shape[-2]
        if k_a != k_b:
            raise ValueError('matmul: inner dimensions differ: a of shape {}{} and b of shape {}{}'
                             .format(a.shape, ' (transposed)' if self.transa else '', b.shape,
                                     ' (transposed)' if self.transb else ''))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        a, b = inputs
        self.retain_inputs((0, 1))
        self._shapes = (a.shape, b.shape)
        if self.transa:
            a = _t(a)
        if self.transb:
            b = _t(b)
        try:
            y = product(xp, a, b)
        except ValueError:
            raise ValueError('matmul: cannot multiply shapes {} and {}'.format(
                a.shape, b.shape)) from None
        return force_array(y),

    def backward(self, indexes, grad_outputs):
        a, b = self.inputs
        gy, = grad_outputs
        ta, tb = self.transa, self.transb
        result = []
        for i in indexes:
            if i == 0:
                g = matmul(b, gy, transa=tb, transb=True) if ta else \
                    matmul(gy, b, transb=not tb)
            else:
                g = matmul(gy, a, transa=True, transb=ta) if tb else \
                    matmul(a, gy, transa=not ta)
            shape = self._shapes[i]
            result.append(g if g.shape == shape else sum_to(g, shape))
        return tuple(result)


def matmul(a, b, transa=False, transb=False):
    """Matrix product ``a @ b`` (batched over leading axes with broadcasting).

    1-D operands are promoted as in NumPy (a vector on the left is a row, on the right a
    column) and the added axis is removed from the result. ``transa``/``transb`` transpose the
    last two axes of ``a``/``b`` first.
    """
    a_vec, b_vec = a.ndim == 1, b.ndim == 1
    if a_vec:
        a = reshape(a, (1, -1))
    if b_vec:
        b = reshape(b, (-1, 1))
    y = MatMul(transa, transb).apply((a, b))[0]
    if a_vec or b_vec:
        shape = y.shape
        if a_vec:
            shape = shape[:-2] + shape[-1:]
        if b_vec:
            shape = shape[:-1]
        y = reshape(y, shape)
    return y


def batch_matmul(a, b, transa=False, transb=False):
    """Matrix products of the batches ``a[i] @ b[i]`` (Chainer's batch_matmul).

    A 2-D operand of shape (B, N) is taken as B column vectors of shape (N, 1).
    """
    if a.ndim == 2:
        a = reshape(a, a.shape + (1,))
    if b.ndim == 2:
        b = reshape(b, b.shape + (1,))
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError('batch_matmul: a and b must be 2-D or 3-D, got shapes {} and {}'.format(
            a.shape, b.shape))
    return MatMul(transa, transb).apply((a, b))[0]
