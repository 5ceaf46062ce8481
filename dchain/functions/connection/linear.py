"""linear: y = x W^T + b, the fully connected layer."""
import numpy

from dchain import backend
from dchain.function_node import FunctionNode
from dchain.functions.array.cast import cast
from dchain.functions.array.reshape import reshape
from dchain.functions.math.matmul import matmul, product
from dchain.functions.math.sum import sum as _sum


class LinearFunction(FunctionNode):
    label = 'linear'

    def check_type_forward(self, inputs):
        x, W = inputs[0], inputs[1]
        if x.dtype.kind != 'f' or W.dtype.kind != 'f':
            raise TypeError('linear: x and W must be float arrays, got {} and {}'.format(
                x.dtype, W.dtype))
        if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[1]:
            raise ValueError('linear: x of shape {} and W of shape {} do not match (expected x of '
                             'shape (N, {}) for W of shape (out, in))'.format(
                                 x.shape, W.shape, W.shape[1] if W.ndim == 2 else 'in'))
        if len(inputs) == 3:
            b = inputs[2]
            if b.dtype != x.dtype or b.shape != (W.shape[0],):
                raise ValueError('linear: b must have shape ({},) and dtype {}, got {} {}'.format(
                    W.shape[0], x.dtype, b.shape, b.dtype))

    def forward(self, inputs):
        x, W = inputs[0], inputs[1]
        self.retain_inputs((0, 1))
        if x.dtype == W.dtype and x.dtype != numpy.float16:
            y = x.dot(W.T)  # the common case: ndarray.dot costs a third of matmul's call
        else:
            y = product(backend.get_array_module(x, W), x, W.T)
            if y.dtype != x.dtype:
                # Mixed precision (float16 x, float32 W): the product is computed in the wider
                # dtype and returned in the dtype of x, as Chainer's mixed16 mode does.
                y = y.astype(x.dtype)
        if len(inputs) == 3:
            y += inputs[2]
        return y,

    def backward(self, indexes, grad_outputs):
        x, W = self.inputs[0], self.inputs[1]
        gy, = grad_outputs
        mixed = x.dtype != W.dtype
        if mixed:
            gy_wide = cast(gy, W.dtype)
        result = []
        for i in indexes:
            if i == 0:
                result.append(cast(matmul(gy_wide, W), x.dtype) if mixed else matmul(gy, W))
            elif i == 1:
                result.append(matmul(gy_wide, cast(x, W.dtype), transa=True) if mixed
                              else matmul(gy, x, transa=True))
            else:
                result.append(_sum(gy, axis=0))
        return tuple(result)


def linear(x, W, b=None, n_batch_axes=1):
    """Fully connected layer: ``y = x W^T + b``.

    Args:
        x: float input of shape (N, in), or (d1, ..., dk, ...) flattened after
            ``n_batch_axes`` axes.
        W: float weight of shape (out, in), usually of the dtype of ``x``. A different float
            dtype is Chainer's mixed precision (e.g. float16 ``x``, float32 ``W``): the
            product is computed in the wider dtype and ``y`` and the gradient of ``x`` have the
            dtype of ``x``, the gradient of ``W`` the dtype of ``W``.
        b: bias of shape (out,) and the dtype of ``x``, or None.
        n_batch_axes: how many leading axes of ``x`` are batch axes.
    Returns:
        A Variable of shape (N, out) (or the batch axes followed by out), of the dtype of ``x``.
    """
    if n_batch_axes < 1:
        raise ValueError('linear: n_batch_axes must be at least 1, got {}'.format(n_batch_axes))
    batch_shape = x.shape[:n_batch_axes]
    if x.ndim != 2 or n_batch_axes != 1:
        batch = 1
        for n in batch_shape:
            batch *= n
        x = reshape(x, (batch, -1))
    y = LinearFunction().apply((x, W) if b is None else (x, W, b))[0]
    if len(batch_shape) != 1:
        y = reshape(y, batch_shape + (y.shape[1],))
    return y
