"""deconvolution_nd: N-dimensional transposed convolution, built on deconvolution_2d.

A 1-D deconvolution is a 2-D one with a unit axis. Over d >= 3 spatial axes it is a sum over
the taps of the first axis: tap ``i`` spreads input row ``j`` to output row
``j * stride + i * dilate``, computed as one (d-1)-dimensional deconvolution of all rows (in
the batch axis), with ``stride - 1`` zero rows put between them and the result shifted by
``i * dilate``. Everything is composed of differentiable functions.
"""
from dchain.functions.array.get_item import get_item
from dchain.functions.array.pad import pad as _pad
from dchain.functions.array.reshape import reshape
from dchain.functions.array.transpose import transpose
from dchain.functions.connection import conv_utils
from dchain.functions.connection.convolution_nd import add_bias, as_tuple, check_arguments
from dchain.functions.connection.deconvolution_2d import deconvolution_2d
from dchain.functions.math.basic_math import add
from dchain.variable import as_variable


def _output_length(label, size, k, s, p, d, outsize, x_shape):
    """The output length along one axis: the default, or ``outsize`` once checked to be one
    that a convolution with these settings maps back to ``size``."""
    if outsize is None:
        length = conv_utils.get_deconv_outsize(size, k, s, p, d=d)
        if length <= 0:
            raise ValueError('{}: the output of x of shape {} would be empty'.format(
                label, x_shape))
        return length
    low = conv_utils.get_conv_outsize(outsize, k, s, p, False, d)
    high = conv_utils.get_conv_outsize(outsize, k, s, p, True, d)
    if not low <= size <= high:
        raise ValueError('{}: outsize {} does not match x of shape {}: a convolution of that '
                         'length with kernel {}, stride {}, pad {} and dilate {} does not give '
                         '{}'.format(label, outsize, x_shape, k, s, p, d, size))
    return outsize


def _deconvolution(x, W, stride, pad, outsize, dilate, groups):
    """The transposed convolution without bias over the ``len(stride)`` spatial axes."""
    d = len(stride)
    if d == 2:
        return deconvolution_2d(x, W, None, stride, pad, None if outsize[0] is None else outsize,
                                dilate=dilate, groups=groups)
    if d == 1:
        n, c, length = x.shape
        y = deconvolution_2d(reshape(x, (n, c, 1, length)),
                             reshape(W, W.shape[:2] + (1, W.shape[2])), None, (1, stride[0]),
                             (0, pad[0]), None if outsize[0] is None else (1, outsize[0]),
                             dilate=(1, dilate[0]), groups=groups)
        return reshape(y, y.shape[:2] + y.shape[3:])
    n, c, depth = x.shape[:3]
    k, s, p, dl = W.shape[2], stride[0], pad[0], dilate[0]
    out_depth = _output_length('deconvolution_nd', depth, k, s, p, dl, outsize[0], x.shape)
    full = s * (depth - 1) + (k - 1) * dl + 1  # before the padding is cut away
    spread = s * (depth - 1) + 1
    order = (0, 2, 1) + tuple(range(3, d + 2))
    rows = reshape(transpose(x, order), (n * depth, c) + x.shape[3:])
    taps = []
    for i in range(k):
        y = _deconvolution(rows, get_item(W, (slice(None), slice(None), i)), stride[1:],
                           pad[1:], outsize[1:], dilate[1:], groups)
        rest = y.shape[2:]
        y = transpose(reshape(y, (n, depth) + y.shape[1:]), order)   # (n, out_c, depth, ...)
        if s > 1:
            # Rows j go to j * s: s - 1 zero rows after each, the last ones dropped.
            y = reshape(y, y.shape[:3] + (1,) + rest)
            y = _pad(y, [(0, 0), (0, 0), (0, 0), (0, s - 1)] + [(0, 0)] * (d - 1))
            y = reshape(y, y.shape[:2] + (depth * s,) + rest)
            y = get_item(y, (slice(None), slice(None), slice(0, spread)))
        taps.append(_pad(y, [(0, 0), (0, 0), (i * dl, full - spread - i * dl)] +
                         [(0, 0)] * (d - 1)))
    y = taps[0] if k == 1 else add(*taps)
    end = p + out_depth
    if end > full:  # a larger outsize (the cover_all case) adds zero rows at the end
        y = _pad(y, [(0, 0), (0, 0), (0, end - full)] + [(0, 0)] * (d - 1))
    if p or end < y.shape[2]:
        y = get_item(y, (slice(None), slice(None), slice(p, end)))
    return y


def deconvolution_nd(x, W, b=None, stride=1, pad=0, outsize=None, dilate=1, groups=1):
    """N-dimensional deconvolution (transposed convolution) of a batch of inputs.

    Args:
        x: input of shape (N, in_channels, d1, ..., dn), float16/32/64, n >= 1.
        W: filters of shape (in_channels, out_channels / groups, k1, ..., kn), the dtype of x.
        b: bias of shape (out_channels,) or None.
        stride (int or tuple of n ints): stride of the transposed convolution per axis.
        pad (int or tuple of n ints): padding of the transposed convolution, cut from each
            side of the output.
        outsize (None or tuple of n ints): the output lengths; by default
            ``li = si (di - 1) + (ki - 1) dilate_i + 1 - 2 pi``. A given length must be one
            that a convolution with these settings maps back to ``di``.
        dilate (int or tuple of n ints): spacing between filter taps per axis.
        groups (int): split the channels into this many independent deconvolutions.
    Returns:
        A Variable of shape (N, out_channels, l1, ..., ln).
    """
    label = 'deconvolution_nd'
    x, W = as_variable(x), as_variable(W)
    stride, pad, dilate, groups = check_arguments(
        label, x, W, '(in_channels, out_channels / groups, k1, ...)', stride, pad, dilate, groups)
    d = x.ndim - 2
    outsize = (None,) * d if outsize is None else as_tuple(label, 'outsize', outsize, d, 1)
    if x.shape[1] != W.shape[0] or W.shape[0] % groups:
        raise ValueError('{}: x of shape {} has {} channels but W of shape {} expects {} '
                         '(groups={})'.format(label, x.shape, x.shape[1], W.shape, W.shape[0],
                                              groups))
    y = _deconvolution(x, W, stride, pad, outsize, dilate, groups)
    return add_bias(label, y, b, W.shape[1] * groups, x.dtype)


def deconvolution_1d(x, W, b=None, stride=1, pad=0, outsize=None, dilate=1, groups=1):
    """One-dimensional deconvolution: ``deconvolution_nd`` on x of shape (N, C, L)."""
    if as_variable(x).ndim != 3:
        raise ValueError('deconvolution_1d: x must have shape (N, C, L), got {}'.format(
            x.shape))
    return deconvolution_nd(x, W, b, stride, pad, outsize, dilate, groups)


def deconvolution_3d(x, W, b=None, stride=1, pad=0, outsize=None, dilate=1, groups=1):
    """Three-dimensional deconvolution: ``deconvolution_nd`` on x of shape (N, C, D, H, W)."""
    if as_variable(x).ndim != 5:
        raise ValueError('deconvolution_3d: x must have shape (N, C, D, H, W), got {}'.format(
            x.shape))
    return deconvolution_nd(x, W, b, stride, pad, outsize, dilate, groups)
