"""swish: x * sigmoid(beta * x) with a learnable beta."""
from dchain.functions.activation.sigmoid import sigmoid
from dchain.functions.array.reshape import reshape
from dchain.variable import as_variable


def swish(x, beta):
    """Swish activation ``x * sigmoid(beta * x)`` (Chainer's ``F.swish``).

    Args:
        x: a float Variable or array of shape (N, s1, ..., sk); axis 0 is the batch.
        beta: a Variable or array of shape (s1, ..., sm) with m <= k and the same dtype as x;
            it is broadcast along the batch axis and the trailing axes, i.e. reshaped to
            (1, s1, ..., sm, 1, ..., 1). It receives a gradient like any input.
    Returns:
        A Variable of the same shape and dtype as x.
    """
    if x.dtype.kind != 'f':
        raise TypeError('swish: x must be a float array, got {}'.format(x.dtype))
    if beta.dtype != x.dtype:
        raise TypeError('swish: beta must have the dtype of x ({}), got {}'.format(
            x.dtype, beta.dtype))
    if x.ndim < 1 or beta.ndim >= x.ndim or x.shape[1:1 + beta.ndim] != beta.shape:
        raise ValueError('swish: beta of shape {} must match the axes after the batch axis of '
                         'x of shape {}'.format(beta.shape, x.shape))
    x = as_variable(x)
    shape = (1,) + beta.shape + (1,) * (x.ndim - beta.ndim - 1)
    if beta.shape != shape:
        beta = reshape(beta, shape)
    return x * sigmoid(x * beta)
