"""max_pooling_2d: the maximum over each window of NCHW images.

Windows are a strided view of the input (padded with -inf only when they reach past it), and
the maximum and its position are found with one pass of elementwise ops per kernel offset,
so the Python loop runs kh * kw times whatever the image size. The position (an index into
the flattened kh x kw window, the first one on ties, as Chainer's argmax) routes the gradient.
"""
import numpy

from dchain import backend
from dchain.function_node import FunctionNode
from dchain.functions.connection import conv_utils


class Pooling:
    """The geometry of one pooling: window, stride, padding and the sizes it gives."""

    def __init__(self, label, x_shape, ksize, stride, pad, cover_all):
        n, c, h, w = x_shape
        (kh, kw), (sy, sx), (ph, pw) = ksize, stride, pad
        out_h = conv_utils.get_conv_outsize(h, kh, sy, ph, cover_all)
        out_w = conv_utils.get_conv_outsize(w, kw, sx, pw, cover_all)
        if out_h <= 0 or out_w <= 0:
            raise ValueError('{}: the window {} does not fit x of shape {} padded by {}'.format(
                label, ksize, x_shape, pad))
        self.x_shape = x_shape
        self.ksize, self.stride, self.pad = ksize, stride, pad
        self.like = None  # an output array in the memory layout of x, set by forward
        self.args = (kh, kw, sy, sx, ph, pw, out_h, out_w)
        self.offsets = [(i, j) for i in range(kh) for j in range(kw)]
        # Windows that never share a pixel let backward assign instead of accumulate, and
        # windows that also tile the whole image leave nothing to zero first.
        self.disjoint = sy >= kh and sx >= kw
        self.tiled = (sy, sx, ph, pw, h, w) == (kh, kw, 0, 0, out_h * kh, out_w * kw)


def check_input(label, x):
    """Refuse anything but a 4-D float array."""
    if x.dtype.kind != 'f':
        raise TypeError('{}: x must be a float array, got {}'.format(label, x.dtype))
    if x.ndim != 4:
        raise ValueError('{}: x must be a 4-D array (N, C, H, W), got shape {}'.format(
            label, x.shape))


class MaxPooling2D(FunctionNode):
    label = 'max_pooling_2d'

    def __init__(self, ksize, stride, pad, cover_all):
        self.ksize = ksize
        self.stride = stride
        self.pad = pad
        self.cover_all = cover_all

    def check_type_forward(self, inputs):
        check_input(self.label, inputs[0])

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        pool = Pooling(self.label, x.shape, self.ksize, self.stride, self.pad, self.cover_all)
        self.pool = pool
        view = conv_utils.windows(x, *pool.args, pad_value=-float('inf'))
        y = view[:, :, 0, 0].copy(order='K')
        # A byte per position is enough for windows of up to 256 pixels and moves less memory.
        index = xp.zeros_like(y, dtype=xp.uint8 if len(pool.offsets) <= 256 else xp.int32)
        for t, (i, j) in enumerate(pool.offsets[1:], 1):
            v = view[:, :, i, j]
            # Strictly greater: on ties the first offset wins, like argmax. Offsets come in
            # increasing order, so the last one that improved is the largest t * mask, and
            # arithmetic is many times faster than masked copies.
            mask = v > y
            xp.maximum(y, v, out=y)
            xp.maximum(index, mask * index.dtype.type(t), out=index)
        self.index = pool.like = index
        return y,

    def backward(self, indexes, grad_outputs):
        return MaxPooling2DGrad(self.pool, self.index).apply(grad_outputs)


class MaxPooling2DGrad(FunctionNode):
    """Routes each output gradient to the input pixel that held the maximum."""

    label = 'max_pooling_2d_grad'

    def __init__(self, pool, index):
        self.pool = pool
        self.index = index

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        gy, = inputs
        pool, index = self.pool, self.index
        kh, kw, sy, sx, ph, pw, out_h, out_w = pool.args
        image, view = conv_utils.window_buffer(pool.x_shape, pool.like, gy.dtype, *pool.args,
                                               zero=not pool.tiled)
        if pool.disjoint:
            # One broadcast: the window's one-hot position times the gradient.
            offsets = xp.arange(kh * kw, dtype=index.dtype).reshape(kh, kw, 1, 1)
            xp.multiply(index[:, :, None, None] == offsets, gy[:, :, None, None], out=view)
        else:
            for t, (i, j) in enumerate(pool.offsets):
                view[:, :, i, j] += gy * (index == t)
        return conv_utils.crop(image, ph, pw, pool.x_shape[2], pool.x_shape[3]),

    def backward(self, indexes, grad_outputs):
        return MaxPooling2DWithIndexes(self.pool, self.index).apply(grad_outputs)


class MaxPooling2DWithIndexes(FunctionNode):
    """Picks from each window the pixel at a given position (the max pooling's argmax)."""

    label = 'max_pooling_2d_with_indexes'

    def __init__(self, pool, index):
        self.pool = pool
        self.index = index

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, = inputs
        view = conv_utils.windows(x, *self.pool.args, pad_value=0)
        y = view[:, :, 0, 0].copy(order='K')
        for t, (i, j) in enumerate(self.pool.offsets[1:], 1):
            # where, not a product with the mask: an infinite x must not turn into NaN.
            y = xp.where(self.index == t, view[:, :, i, j], y)
        return y,

    def backward(self, indexes, grad_outputs):
        return MaxPooling2DGrad(self.pool, self.index).apply(grad_outputs)


def max_pooling_2d(x, ksize, stride=None, pad=0, cover_all=True, return_indices=False):
    """Spatial max pooling of a batch of images.

    Args:
        x: input of shape (N, C, H, W), float16/32/64.
        ksize (int or pair): window size (kh, kw).
        stride (int or pair or None): step between windows; None means ``ksize``.
        pad (int or pair): padding on each side, with -inf (it never wins the maximum).
        cover_all (bool): round the output size up so that every pixel is in some window.
        return_indices (bool): also return the position of each maximum in its window.
    Returns:
        A Variable of shape (N, C, out_h, out_w), ``out_h = (H + 2 ph - kh) // sy + 1``
        (``+ sy - 1`` in the numerator with ``cover_all``). With ``return_indices``, the pair
        ``(y, indices)`` where ``indices`` is an int64 array (as Chainer) of that shape holding
        ``i * kw + j`` for the maximum at row ``i``, column ``j`` of its window.
    """
    label = 'max_pooling_2d'
    ksize = conv_utils.pair(label, 'ksize', ksize, 1)
    stride = ksize if stride is None else conv_utils.pair(label, 'stride', stride, 1)
    pad = conv_utils.pair(label, 'pad', pad, 0)
    func = MaxPooling2D(ksize, stride, pad, bool(cover_all))
    y = func.apply((x,))[0]
    if return_indices:
        return y, func.index.astype(numpy.int64)
    return y
