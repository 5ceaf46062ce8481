"""Deconvolution2D: the 2-D transposed convolution layer as a link."""
from dchain.functions.connection.deconvolution_2d import deconvolution_2d
from dchain.link import Link
from dchain.links.connection._parameters import weight_and_bias
from dchain.links.connection.convolution_2d import _pair, check_channels


class Deconvolution2D(Link):
    """A 2-D transposed convolution (deconvolution) layer over inputs of shape (N, C, H, W).

    ``Deconvolution2D(out_channels, ksize)`` (two arguments) means ``in_channels=None``: the
    input channels are read from the first input, as in Chainer.

    Args:
        in_channels (int or None): input channels C; None infers them at the first call.
        out_channels (int): output channels.
        ksize (int or pair of ints): kernel height and width.
        stride (int or pair of ints): stride of the kernel (the upsampling factor).
        pad (int or pair of ints): rows and columns cropped from the output's borders.
        nobias (bool): no bias term.
        outsize (pair of ints or None): the output's (H, W), for strides where several sizes
            are possible; None takes the smallest.
        initialW: initializer of W (LeCunNormal by default).
        initial_bias: initializer of b (zeros by default).
        dilate (int or pair of ints): dilation of the kernel.
        groups (int): channel groups handled separately; divides both channel counts.
    Attributes:
        W (Parameter): filters of shape (in_channels, out_channels // groups, kh, kw).
        b (Parameter or None): bias of shape (out_channels,).
    """

    def __init__(self, in_channels, out_channels, ksize=None, stride=1, pad=0, nobias=False,
                 outsize=None, initialW=None, initial_bias=None, *, dilate=1, groups=1):
        super().__init__()
        if ksize is None:
            in_channels, out_channels, ksize = None, in_channels, out_channels
        check_channels('Deconvolution2D', in_channels, out_channels, groups)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.ksize = ksize
        self.stride = _pair(stride)
        self.pad = _pair(pad)
        self.outsize = None if outsize is None else _pair(outsize)
        self.dilate = _pair(dilate)
        self.groups = groups
        with self.init_scope():
            self.W, self.b = weight_and_bias(initialW, initial_bias, nobias, out_channels)
            if in_channels is not None:
                self._initialize_params(in_channels)

    def _initialize_params(self, in_channels):
        self.in_channels = in_channels
        self.W.initialize((in_channels, self.out_channels // self.groups) + _pair(self.ksize))

    def forward(self, x):
        """Apply the layer to ``x`` of shape (N, in_channels, H, W)."""
        if self.W.data is None:
            if x.ndim != 4:
                raise ValueError('Deconvolution2D: x must have 4 dimensions (N, C, H, W), got '
                                 'shape {}'.format(x.shape))
            check_channels('Deconvolution2D', x.shape[1], None, self.groups)
            self._initialize_params(x.shape[1])
        return deconvolution_2d(x, self.W, self.b, self.stride, self.pad, self.outsize,
                                dilate=self.dilate, groups=self.groups)
