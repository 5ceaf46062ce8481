"""convolution_nd: N-dimensional convolution, built on convolution_2d.

One spatial axis is added to a 1-D convolution to make it a 2-D one. A convolution over
d >= 3 spatial axes is a sum over the taps of its first axis of (d-1)-dimensional
convolutions: tap ``i`` reads the input rows ``i * dilate + j * stride`` for every output row
``j``, and those output rows ride along in the batch axis. Everything is composed of
differentiable functions, so gradients of any order come for free.
"""
import numpy

from dchain.functions.array.get_item import get_item
from dchain.functions.array.pad import pad as _pad
from dchain.functions.array.reshape import reshape
from dchain.functions.array.transpose import transpose
from dchain.functions.connection import conv_utils
from dchain.functions.connection.convolution_2d import convolution_2d
from dchain.functions.math.basic_math import add
from dchain.variable import as_variable


def as_tuple(label, name, value, ndim, minimum):
    """``value`` (an int or a sequence of ``ndim`` ints, each >= ``minimum``) as a tuple."""
    if isinstance(value, (int, numpy.integer)) and not isinstance(value, bool):
        values = (int(value),) * ndim
    elif isinstance(value, (tuple, list)) and len(value) == ndim and all(
            isinstance(v, (int, numpy.integer)) and not isinstance(v, bool) for v in value):
        values = tuple(int(v) for v in value)
    else:
        raise TypeError('{}: {} must be an int or a tuple of {} ints, got {!r}'.format(
            label, name, ndim, value))
    if any(v < minimum for v in values):
        raise ValueError('{}: {} must be at least {}, got {!r}'.format(
            label, name, minimum, value))
    return values


def check_arguments(label, x, W, filter_layout, stride, pad, dilate, groups):
    """Check x and W (at least one spatial axis, W with as many axes, one float dtype) and
    return stride, pad and dilate as tuples of one int per spatial axis, and groups."""
    if x.ndim < 3:
        raise ValueError('{}: x must have shape (N, C, d1, ...) with at least one spatial axis, '
                         'got {}'.format(label, x.shape))
    if W.ndim != x.ndim:
        raise ValueError('{}: W must have {} dimensions {} for x of shape {}, got shape {}'
                         .format(label, x.ndim, filter_layout, x.shape, W.shape))
    if x.dtype.kind != 'f' or W.dtype != x.dtype:
        raise TypeError('{}: x and W must be float arrays of the same dtype, got {} and {}'
                        .format(label, x.dtype, W.dtype))
    d = x.ndim - 2
    return (as_tuple(label, 'stride', stride, d, 1), as_tuple(label, 'pad', pad, d, 0),
            as_tuple(label, 'dilate', dilate, d, 1),
            conv_utils.positive_int(label, 'groups', groups))


def add_bias(label, y, b, out_channels, dtype):
    """``y`` plus the bias ``b`` of shape (out_channels,) over its channel axis (b may be None)."""
    if b is None:
        return y
    b = as_variable(b)
    if b.shape != (out_channels,) or b.dtype != dtype:
        raise ValueError('{}: b must have shape ({},) and dtype {}, got {} {}'.format(
            label, out_channels, dtype, b.shape, b.dtype))
    return y + reshape(b, (1, out_channels) + (1,) * (y.ndim - 2))


def _convolution(x, W, stride, pad, cover_all, dilate, groups):
    """The convolution without bias over the ``len(stride)`` spatial axes of x."""
    d = len(stride)
    if d == 2:
        return convolution_2d(x, W, None, stride, pad, cover_all, dilate=dilate, groups=groups)
    if d == 1:
        n, c, length = x.shape
        y = convolution_2d(reshape(x, (n, c, 1, length)),
                           reshape(W, W.shape[:2] + (1, W.shape[2])), None, (1, stride[0]),
                           (0, pad[0]), cover_all, dilate=(1, dilate[0]), groups=groups)
        return reshape(y, y.shape[:2] + y.shape[3:])
    n, c, depth = x.shape[:3]
    k, s, p, dl = W.shape[2], stride[0], pad[0], dilate[0]
    out_depth = conv_utils.get_conv_outsize(depth, k, s, p, cover_all, dl)
    if out_depth <= 0:
        raise ValueError('convolution_nd: the kernel {} (dilate {}) does not fit x of shape {} '
                         'padded by {}'.format(W.shape[2:], dilate, x.shape, pad))
    after = max(0, (out_depth - 1) * s + (k - 1) * dl + 1 - depth - p)
    if p or after:
        x = _pad(x, [(0, 0), (0, 0), (p, after)] + [(0, 0)] * (d - 1))
    rest = x.shape[3:]
    order = (0, 2, 1) + tuple(range(3, d + 2))
    taps = []
    for i in range(k):
        start = i * dl
        rows = get_item(x, (slice(None), slice(None),
                            slice(start, start + (out_depth - 1) * s + 1, s)))
        rows = reshape(transpose(rows, order), (n * out_depth, c) + rest)
        weight = get_item(W, (slice(None), slice(None), i))
        taps.append(_convolution(rows, weight, stride[1:], pad[1:], cover_all, dilate[1:],
                                 groups))
    y = taps[0] if k == 1 else add(*taps)
    y = reshape(y, (n, out_depth) + y.shape[1:])
    return transpose(y, order)


def convolution_nd(x, W, b=None, stride=1, pad=0, cover_all=False, dilate=1, groups=1):
    """N-dimensional convolution (cross-correlation) of a batch of inputs.

    Args:
        x: input of shape (N, C, d1, ..., dn), float16/32/64, n >= 1.
        W: filters of shape (out_channels, C / groups, k1, ..., kn), the dtype of ``x``.
        b: bias of shape (out_channels,) or None.
        stride (int or tuple of n ints): step of the filter application per axis.
        pad (int or tuple of n ints): zero padding on each side of each axis.
        cover_all (bool): round each output length up so that every input element is covered.
        dilate (int or tuple of n ints): spacing between filter taps per axis.
        groups (int): split the channels into this many independent convolutions.
    Returns:
        A Variable of shape (N, out_channels, o1, ..., on) with
        ``oi = (di + 2 pi - ((ki - 1) dilate_i + 1)) // si + 1`` (``+ si - 1`` in the
        numerator with ``cover_all``).
    """
    label = 'convolution_nd'
    x, W = as_variable(x), as_variable(W)
    stride, pad, dilate, groups = check_arguments(
        label, x, W, '(out_channels, C / groups, k1, ...)', stride, pad, dilate, groups)
    if x.shape[1] != W.shape[1] * groups or W.shape[0] % groups:
        raise ValueError('{}: x of shape {} has {} channels but W of shape {} expects {} '
                         '(groups={})'.format(label, x.shape, x.shape[1], W.shape,
                                              W.shape[1] * groups, groups))
    y = _convolution(x, W, stride, pad, bool(cover_all), dilate, groups)
    return add_bias(label, y, b, W.shape[0], x.dtype)


def convolution_1d(x, W, b=None, stride=1, pad=0, cover_all=False, dilate=1, groups=1):
    """One-dimensional convolution: ``convolution_nd`` on x of shape (N, C, L)."""
    if as_variable(x).ndim != 3:
        raise ValueError('convolution_1d: x must have shape (N, C, L), got {}'.format(x.shape))
    return convolution_nd(x, W, b, stride, pad, cover_all, dilate, groups)


def convolution_3d(x, W, b=None, stride=1, pad=0, cover_all=False, dilate=1, groups=1):
    """Three-dimensional convolution: ``convolution_nd`` on x of shape (N, C, D, H, W)."""
    if as_variable(x).ndim != 5:
        raise ValueError('convolution_3d: x must have shape (N, C, D, H, W), got {}'.format(
            x.shape))
    return convolution_nd(x, W, b, stride, pad, cover_all, dilate, groups)
