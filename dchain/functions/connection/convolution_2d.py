"""convolution_2d: 2-D convolution (cross-correlation) of NCHW images, as im2col and one GEMM.

The backward is written as other convolutions: the input gradient is a deconvolution of the
output gradient and the weight gradient is ``Convolution2DGradW``, whose own backward is again
a convolution and a deconvolution, so gradients of any order come for free.
"""
from dchain import backend
from dchain.function_node import FunctionNode
from dchain.functions.connection import conv_utils
from dchain.functions.connection import deconvolution_2d as deconv
from dchain.functions.math.sum import sum as _sum


def check_arrays(label, x, W, b, w_axis, groups):
    """The checks shared by convolution and deconvolution: dtypes, ranks, channels, bias dtype.

    ``W.shape[w_axis]`` (times ``groups`` for a convolution) is the channel count x must have.
    """
    if x.dtype.kind != 'f' or W.dtype != x.dtype:
        raise TypeError('{}: x and W must be float arrays of the same dtype, got {} and {}'
                        .format(label, x.dtype, W.dtype))
    if x.ndim != 4:
        raise ValueError('{}: x must be a 4-D array (N, C, H, W), got shape {}'.format(
            label, x.shape))
    if W.ndim != 4:
        raise ValueError('{}: W must be a 4-D array, got shape {}'.format(label, W.shape))
    expected = W.shape[1] * groups if w_axis == 1 else W.shape[0]
    if x.shape[1] != expected:
        raise ValueError('{}: x of shape {} has {} channels but W of shape {} expects {} '
                         '(groups={})'.format(label, x.shape, x.shape[1], W.shape, expected,
                                              groups))
    if expected % groups:
        raise ValueError('{}: the {} input channels are not divisible by groups={}'.format(
            label, expected, groups))
    if b is not None and b.dtype != x.dtype:
        raise TypeError('{}: b must have the dtype of x ({}), got {}'.format(
            label, x.dtype, b.dtype))


def gemm(a, b, groups, transa=False, transb=False, out=None):
    """``op(a) @ op(b)`` on 2-D arrays, or per group when ``groups`` > 1.

    ``a`` and ``b`` are split along their first axis into ``groups`` blocks; the results are
    stacked along the first axis (into ``out`` when given). Transposes are views, so BLAS
    reads the operands in place.
    """
    xp = backend.get_array_module(a, b)
    if groups == 1:
        return xp.matmul(a.T if transa else a, b.T if transb else b, out=out)
    # Explicit sizes: -1 is ambiguous when the last axis is empty (an empty batch).
    a = a.reshape(groups, a.shape[0] // groups, a.shape[-1])
    b = b.reshape(groups, b.shape[0] // groups, b.shape[-1])
    if out is not None:
        out = out.reshape(groups, out.shape[0] // groups, out.shape[-1])
    y = xp.matmul(a.transpose(0, 2, 1) if transa else a, b.transpose(0, 2, 1) if transb else b,
                  out=out)
    return y.reshape(y.shape[0] * y.shape[1], y.shape[-1])


class Convolution2DFunction(FunctionNode):
    label = 'convolution_2d'

    def __init__(self, stride, pad, cover_all, dilate, groups):
        self.stride = stride
        self.pad = pad
        self.cover_all = cover_all
        self.dilate = dilate
        self.groups = groups

    def check_type_forward(self, inputs):
        x, W = inputs[0], inputs[1]
        b = inputs[2] if len(inputs) == 3 else None
        check_arrays(self.label, x, W, b, 1, self.groups)
        if W.shape[0] % self.groups:
            raise ValueError('convolution_2d: W of shape {} has {} output channels, not a '
                             'multiple of groups={}'.format(W.shape, W.shape[0], self.groups))
        if b is not None and b.shape != (W.shape[0],):
            raise ValueError('convolution_2d: b must have shape ({},) for W of shape {}, got {}'
                             .format(W.shape[0], W.shape, b.shape))

    def forward(self, inputs):
        x, W = inputs[0], inputs[1]
        self.retain_inputs((0, 1))
        n, c, h, w = x.shape
        out_c, _, kh, kw = W.shape
        (sy, sx), (ph, pw), (dy, dx) = self.stride, self.pad, self.dilate
        out_h = conv_utils.get_conv_outsize(h, kh, sy, ph, self.cover_all, dy)
        out_w = conv_utils.get_conv_outsize(w, kw, sx, pw, self.cover_all, dx)
        if out_h <= 0 or out_w <= 0:
            raise ValueError('convolution_2d: the kernel {} (dilate {}) does not fit x of shape {} '
                             'padded by {}'.format((kh, kw), self.dilate, x.shape, self.pad))
        col = conv_utils.im2col(
            conv_utils.as_chwn(x), kh, kw, sy, sx, ph, pw, out_h, out_w, dy, dx,
            out=conv_utils.scratch(x, (c, kh, kw, out_h, out_w, n), x.dtype))
        y = gemm(W.reshape(out_c, -1), col.reshape(c * kh * kw, out_h * out_w * n), self.groups)
        if len(inputs) == 3:
            y += inputs[2][:, None]
        return conv_utils.from_chwn(y.reshape(out_c, out_h, out_w, n)),

    def backward(self, indexes, grad_outputs):
        x, W = self.get_retained_inputs()
        gy, = grad_outputs
        result = []
        for i in indexes:
            if i == 0:
                result.append(deconv.Deconvolution2DFunction(
                    self.stride, self.pad, x.shape[2:], self.dilate, self.groups).apply(
                        (gy, W))[0])
            elif i == 1:
                result.append(Convolution2DGradW(self, W.shape).apply((x, gy))[0])
            else:
                result.append(_sum(gy, axis=(0, 2, 3)))
        return tuple(result)


class Convolution2DGradW(FunctionNode):
    """The weight gradient of a convolution as a function of its input and output gradient."""

    label = 'convolution_2d_grad_w'

    def __init__(self, conv, w_shape):
        self.stride = conv.stride
        self.pad = conv.pad
        self.cover_all = conv.cover_all
        self.dilate = conv.dilate
        self.groups = conv.groups
        self.w_shape = w_shape

    def forward(self, inputs):
        x, gy = inputs
        self.retain_inputs((0, 1))
        out_c, _, kh, kw = self.w_shape
        n, c, _, _ = x.shape
        out_h, out_w = gy.shape[2:]
        (sy, sx), (ph, pw), (dy, dx) = self.stride, self.pad, self.dilate
        col = conv_utils.im2col(
            conv_utils.as_chwn(x), kh, kw, sy, sx, ph, pw, out_h, out_w, dy, dx,
            out=conv_utils.scratch(x, (c, kh, kw, out_h, out_w, n), x.dtype))
        gy2 = conv_utils.as_chwn(gy).reshape(out_c, -1)
        gW = gemm(gy2, col.reshape(c * kh * kw, gy2.shape[1]), self.groups, transb=True)
        return gW.reshape(self.w_shape),

    def backward(self, indexes, grad_outputs):
        x, gy = self.get_retained_inputs()
        ggW, = grad_outputs
        result = []
        for i in indexes:
            if i == 0:
                result.append(deconv.Deconvolution2DFunction(
                    self.stride, self.pad, x.shape[2:], self.dilate, self.groups).apply(
                        (gy, ggW))[0])
            else:
                result.append(Convolution2DFunction(
                    self.stride, self.pad, self.cover_all, self.dilate, self.groups).apply(
                        (x, ggW))[0])
        return tuple(result)


def convolution_2d(x, W, b=None, stride=1, pad=0, cover_all=False, *, dilate=1, groups=1):
    """Two-dimensional convolution (cross-correlation) of a batch of images.

    Args:
        x: input of shape (N, C, H, W), float16/32/64.
        W: filters of shape (out_channels, C / groups, kh, kw), the dtype of ``x``.
        b: bias of shape (out_channels,) or None.
        stride (int or pair): step of the filter application (sy, sx).
        pad (int or pair): zero padding on each side (ph, pw).
        cover_all (bool): round the output size up so that every input pixel is covered.
        dilate (int or pair): spacing between filter taps (dy, dx).
        groups (int): split the channels into this many independent convolutions.
    Returns:
        A Variable of shape (N, out_channels, out_h, out_w) with
        ``out_h = (H + 2 ph - ((kh - 1) dy + 1)) // sy + 1`` (``+ sy - 1`` in the numerator
        with ``cover_all``), and likewise ``out_w``.
    """
    label = 'convolution_2d'
    stride = conv_utils.pair(label, 'stride', stride, 1)
    pad = conv_utils.pair(label, 'pad', pad, 0)
    dilate = conv_utils.pair(label, 'dilate', dilate, 1)
    groups = conv_utils.positive_int(label, 'groups', groups)
    func = Convolution2DFunction(stride, pad, bool(cover_all), dilate, groups)
    return func.apply((x, W) if b is None else (x, W, b))[0]
