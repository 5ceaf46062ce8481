"""logsumexp: log(sum(exp(x))) over axes, shifted by the maximum so it never overflows."""
from dchain import backend
from dchain.functions.math.exponential import exp, log
from dchain.functions.math.sum import _normalize_axis, sum as _sum
from dchain.variable import as_variable


def logsumexp(x, axis=None):
    """``log(sum(exp(x), axis))`` computed stably (Chainer's ``F.logsumexp``).

    Args:
        x: a float Variable or array.
        axis (None, int or tuple of ints): the axes to reduce (all when None).
    Returns:
        A Variable of x's dtype with the reduced axes removed; its gradient is
        ``softmax(x)`` along them.
    """
    x = as_variable(x)
    if x.dtype.kind != 'f':
        raise TypeError('logsumexp: x must be a float array, got {}'.format(x.dtype))
    axes = _normalize_axis('logsumexp', axis, x.ndim)
    if axes is None:
        axes = tuple(range(x.ndim))
    if any(x.shape[a] == 0 for a in axes):
        raise ValueError('logsumexp: cannot reduce over an empty axis (x of shape {})'.format(
            x.shape))
    xp = backend.get_array_module(x.data)
    # The shift is a constant: the result does not depend on it, only its rounding does.
    shift = xp.max(x.data, axis=axes, keepdims=True)
    shift = xp.where(xp.isfinite(shift), shift, 0)
    y = log(_sum(exp(x - shift), axis=axes))
    return y + shift.reshape(y.shape)
