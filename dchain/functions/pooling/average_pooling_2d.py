"""average_pooling_2d: the mean over each window of NCHW images.

As in Chainer, padded pixels count as zeros in the mean: every window divides by kh * kw.
Backward spreads ``gy / (kh * kw)`` over each window; that map is linear and its adjoint is
this pooling again, which gives the double backward.
"""
from dchain.function_node import FunctionNode
from dchain.functions.connection import conv_utils
from dchain.functions.pooling.max_pooling_2d import Pooling, check_input


class AveragePooling2D(FunctionNode):
    label = 'average_pooling_2d'

    def __init__(self, ksize, stride, pad):
        self.ksize = ksize
        self.stride = stride
        self.pad = pad

    def check_type_forward(self, inputs):
        check_input(self.label, inputs[0])

    def forward(self, inputs):
        x, = inputs
        pool = self.pool = Pooling(self.label, x.shape, self.ksize, self.stride, self.pad, False)
        view = conv_utils.windows(x, *pool.args, pad_value=0)
        y = view[:, :, 0, 0].copy(order='K')
        for i, j in pool.offsets[1:]:
            y += view[:, :, i, j]
        y *= x.dtype.type(1.0 / len(pool.offsets))
        # Backward allocates the input gradient in the memory layout of x, which y shares.
        pool.like = y
        return y,

    def backward(self, indexes, grad_outputs):
        return AveragePooling2DGrad(self.pool).apply(grad_outputs)


class AveragePooling2DGrad(FunctionNode):
    """Spreads each output gradient evenly over its window."""

    label = 'average_pooling_2d_grad'

    def __init__(self, pool):
        self.pool = pool

    def forward(self, inputs):
        gy, = inputs
        pool = self.pool
        ph, pw = pool.pad
        image, view = conv_utils.window_buffer(pool.x_shape, pool.like, gy.dtype, *pool.args,
                                               zero=not pool.tiled)
        share = gy * gy.dtype.type(1.0 / len(pool.offsets))
        if pool.disjoint:
            view[...] = share[:, :, None, None]
        else:
            for i, j in pool.offsets:
                view[:, :, i, j] += share
        return conv_utils.crop(image, ph, pw, pool.x_shape[2], pool.x_shape[3]),

    def backward(self, indexes, grad_outputs):
        pool = self.pool
        return AveragePooling2D(pool.ksize, pool.stride, pool.pad).apply(grad_outputs)


def average_pooling_2d(x, ksize, stride=None, pad=0):
    """Spatial average pooling of a batch of images.

    Args:
        x: input of shape (N, C, H, W), float16/32/64.
        ksize (int or pair): window size (kh, kw).
        stride (int or pair or None): step between windows; None means ``ksize``.
        pad (int or pair): zero padding on each side; padded zeros count in the mean.
    Returns:
        A Variable of shape (N, C, out_h, out_w) with ``out_h = (H + 2 ph - kh) // sy + 1``
        and likewise ``out_w``.
    """
    label = 'average_pooling_2d'
    ksize = conv_utils.pair(label, 'ksize', ksize, 1)
    stride = ksize if stride is None else conv_utils.pair(label, 'stride', stride, 1)
    pad = conv_utils.pair(label, 'pad', pad, 0)
    return AveragePooling2D(ksize, stride, pad).apply((x,))[0]
