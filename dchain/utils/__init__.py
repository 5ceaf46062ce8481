"""Small array helpers shared by the functions; ``type_check`` (input checks of old-style
functions) and ``argument`` (keyword-argument parsing), as in Chainer's ``chainer.utils``."""
import numpy


def force_array(x, dtype=None):
    """Return ``x`` as an ndarray: NumPy turns 0-dimensional results into scalars."""
    if isinstance(x, numpy.generic):
        return numpy.asarray(x, dtype=dtype)
    if dtype is not None and x.dtype != dtype:
        return x.astype(dtype, copy=False)
    return x


def sum_to_axes(shape, target):
    """The axes to sum (keepdims) and the leading axes to drop to reduce ``shape`` to ``target``."""
    lead = len(shape) - len(target)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(target) if n == 1 and shape[lead + i] != 1)
    return axes, lead


from dchain.utils import argument, type_check  # noqa: E402,F401
from dchain.utils.walker_alias import WalkerAlias  # noqa: E402,F401
