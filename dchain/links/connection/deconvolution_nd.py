"""DeconvolutionND, Deconvolution1D and Deconvolution3D: N-dimensional transposed convolution
layers."""
from dchain.functions.connection.convolution_nd import as_tuple
from dchain.functions.connection.deconvolution_nd import deconvolution_nd
from dchain.links.connection.convolution_nd import _ConnectionND


class DeconvolutionND(_ConnectionND):
    """An N-dimensional deconvolution (transposed convolution) layer over inputs of shape
    (N, C, d1, ..., dn).

    ``DeconvolutionND(ndim, out_channels, ksize)`` (without ``in_channels``) infers the input
    channels from the first input, as in Chainer.

    Args:
        ndim (int): the number of spatial axes n.
        in_channels (int or None): input channels C; None infers them at the first call.
        out_channels (int): output channels.
        ksize (int or tuple of n ints): kernel size per axis.
        stride (int or tuple of n ints): stride per axis.
        pad (int or tuple of n ints): padding cut from each side of each output axis.
        nobias (bool): no bias term.
        outsize (None or tuple of n ints): the output lengths (see ``F.deconvolution_nd``).
        initialW: initializer of W (LeCunNormal by default).
        initial_bias: initializer of b (zeros by default).
        dilate (int or tuple of n ints): dilation of the kernel.
        groups (int): channel groups deconvolved separately; divides both channel counts.
    Attributes:
        W (Parameter): filters of shape (in_channels, out_channels // groups, k1, ..., kn).
        b (Parameter or None): bias of shape (out_channels,).
    """

    def __init__(self, ndim, in_channels, out_channels, ksize=None, stride=1, pad=0,
                 nobias=False, outsize=None, initialW=None, initial_bias=None, dilate=1,
                 groups=1):
        super().__init__(ndim, in_channels, out_channels, ksize, stride, pad, nobias, initialW,
                         initial_bias, dilate, groups)
        self.outsize = None if outsize is None else as_tuple(type(self).__name__, 'outsize',
                                                             outsize, self.ndim, 1)

    def _filter_shape(self, in_channels):
        return (in_channels, self.out_channels // self.groups) + self.ksize

    def forward(self, x):
        """Deconvolve ``x`` of shape (N, in_channels, d1, ..., dn)."""
        self._initialize_from_input(x)
        return deconvolution_nd(x, self.W, self.b, self.stride, self.pad, self.outsize,
                                self.dilate, self.groups)


class Deconvolution1D(DeconvolutionND):
    """A 1-D deconvolution layer over inputs of shape (N, C, L): ``DeconvolutionND`` with
    ``ndim=1``; the arguments are those of DeconvolutionND after ``ndim``."""

    def __init__(self, in_channels, out_channels, ksize=None, stride=1, pad=0, nobias=False,
                 outsize=None, initialW=None, initial_bias=None, dilate=1, groups=1):
        super().__init__(1, in_channels, out_channels, ksize, stride, pad, nobias, outsize,
                         initialW, initial_bias, dilate, groups)


class Deconvolution3D(DeconvolutionND):
    """A 3-D deconvolution layer over inputs of shape (N, C, D, H, W): ``DeconvolutionND``
    with ``ndim=3``; the arguments are those of DeconvolutionND after ``ndim``."""

    def __init__(self, in_channels, out_channels, ksize=None, stride=1, pad=0, nobias=False,
                 outsize=None, initialW=None, initial_bias=None, dilate=1, groups=1):
        super().__init__(3, in_channels, out_channels, ksize, stride, pad, nobias, outsize,
                         initialW, initial_bias, dilate, groups)
