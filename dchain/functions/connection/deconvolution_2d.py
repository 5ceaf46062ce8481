"""deconvolution_2d: the transposed 2-D convolution, as one GEMM and col2im.

Its backward is a convolution of the output gradient (for x) and ``Convolution2DGradW`` with
the roles of input and gradient exchanged (for W), so it is differentiable to any order.
"""
from dchain.function_node import FunctionNode
from dchain.functions.connection import conv_utils
from dchain.functions.connection import convolution_2d as conv
from dchain.functions.math.sum import sum as _sum


class Deconvolution2DFunction(FunctionNode):
    label = 'deconvolution_2d'

    def __init__(self, stride, pad, outsize, dilate, groups):
        self.stride = stride
        self.pad = pad
        self.outsize = outsize
        self.dilate = dilate
        self.groups = groups
        self.cover_all = False

    def check_type_forward(self, inputs):
        x, W = inputs[0], inputs[1]
        b = inputs[2] if len(inputs) == 3 else None
        conv.check_arrays(self.label, x, W, b, 0, self.groups)
        if b is not None and b.shape != (W.shape[1] * self.groups,):
            raise ValueError('deconvolution_2d: b must have shape ({},) for W of shape {} and '
                             'groups={}, got {}'.format(W.shape[1] * self.groups, W.shape,
                                                        self.groups, b.shape))

    def _output_size(self, x, W):
        h, w = x.shape[2:]
        kh, kw = W.shape[2:]
        (sy, sx), (ph, pw), (dy, dx) = self.stride, self.pad, self.dilate
        if self.outsize is None:
            out_h = conv_utils.get_deconv_outsize(h, kh, sy, ph, d=dy)
            out_w = conv_utils.get_deconv_outsize(w, kw, sx, pw, d=dx)
            if out_h <= 0 or out_w <= 0:
                raise ValueError('deconvolution_2d: the output of x of shape {} with kernel {}, '
                                 'stride {} and pad {} would be empty ({}, {})'.format(
                                     x.shape, (kh, kw), self.stride, self.pad, out_h, out_w))
            return out_h, out_w
        out_h, out_w = self.outsize
        # The convolution that this deconvolution transposes must map outsize back to (h, w).
        fits = []
        for size, out, k, s, p, d in ((h, out_h, kh, sy, ph, dy), (w, out_w, kw, sx, pw, dx)):
            low = conv_utils.get_conv_outsize(out, k, s, p, False, d)
            high = conv_utils.get_conv_outsize(out, k, s, p, True, d)
            fits.append(low <= size <= high)
            if size != low:
                self.cover_all = True
        if not all(fits):
            raise ValueError('deconvolution_2d: outsize {} does not match x of shape {}: a '
                             'convolution of an image of that size with kernel {}, stride {}, '
                             'pad {} and dilate {} does not give ({}, {})'.format(
                                 self.outsize, x.shape, (kh, kw), self.stride, self.pad,
                                 self.dilate, h, w))
        return out_h, out_w

    def forward(self, inputs):
        x, W = inputs[0], inputs[1]
        self.retain_inputs((0, 1))
        n, in_c, h, w = x.shape
        _, group_c, kh, kw = W.shape
        out_c = group_c * self.groups
        out_h, out_w = self._output_size(x, W)
        (sy, sx), (ph, pw), (dy, dx) = self.stride, self.pad, self.dilate
        x2 = conv_utils.as_chwn(x).reshape(in_c, -1)
        col = conv.gemm(W.reshape(in_c, -1), x2, self.groups, transa=True,
                        out=conv_utils.scratch(x, (out_c * kh * kw, x2.shape[1]), x.dtype))
        y = conv_utils.col2im(col.reshape(out_c, kh, kw, h, w, n), sy, sx, ph, pw, out_h, out_w,
                              dy, dx)
        if len(inputs) == 3:
            y += inputs[2][:, None, None, None]
        return conv_utils.from_chwn(y),

    def backward(self, indexes, grad_outputs):
        x, W = self.get_retained_inputs()
        gy, = grad_outputs
        result = []
        for i in indexes:
            if i == 0:
                result.append(conv.Convolution2DFunction(
                    self.stride, self.pad, self.cover_all, self.dilate, self.groups).apply(
                        (gy, W))[0])
            elif i == 1:
                result.append(conv.Convolution2DGradW(self, W.shape).apply((gy, x))[0])
            else:
                result.append(_sum(gy, axis=(0, 2, 3)))
        return tuple(result)


def deconvolution_2d(x, W, b=None, stride=1, pad=0, outsize=None, *, dilate=1, groups=1):
    """Two-dimensional deconvolution (transposed convolution) of a batch of images.

    Args:
        x: input of shape (N, in_channels, H, W), float16/32/64.
        W: filters of shape (in_channels, out_channels / groups, kh, kw), the dtype of ``x``.
        b: bias of shape (out_channels,) or None.
        stride (int or pair): stride of the transposed convolution (sy, sx).
        pad (int or pair): padding of the transposed convolution, removed from the output.
        outsize (pair or None): the output size (out_h, out_w); by default
            ``out_h = sy (H - 1) + (kh - 1) dy + 1 - 2 ph`` and likewise ``out_w``. A given
            outsize must be one that a convolution with these settings maps back to (H, W).
        dilate (int or pair): spacing between filter taps (dy, dx).
        groups (int): split the channels into this many independent deconvolutions.
    Returns:
        A Variable of shape (N, out_channels, out_h, out_w).
    """
    label = 'deconvolution_2d'
    stride = conv_utils.pair(label, 'stride', stride, 1)
    pad = conv_utils.pair(label, 'pad', pad, 0)
    dilate = conv_utils.pair(label, 'dilate', dilate, 1)
    groups = conv_utils.positive_int(label, 'groups', groups)
    if outsize is not None:
        outsize = conv_utils.pair(label, 'outsize', outsize, 1)
    func = Deconvolution2DFunction(stride, pad, outsize, dilate, groups)
    return func.apply((x, W) if b is None else (x, W, b))[0]
