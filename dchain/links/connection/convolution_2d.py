"""Convolution2D: the 2-D convolution layer as a link."""
import numbers

from dchain.functions.connection.convolution_2d import convolution_2d
from dchain.link import Link
from dchain.links.connection._parameters import weight_and_bias


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def check_channels(label, in_channels, out_channels, groups):
    """Refuse channel counts that are not positive or that ``groups`` does not divide."""
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError('{}: groups must be a positive int, got {!r}'.format(label, groups))
    for name, channels in (('in_channels', in_channels), ('out_channels', out_channels)):
        if channels is None:
            continue
        if isinstance(channels, bool) or not isinstance(channels, numbers.Integral) or channels < 1:
            raise ValueError('{}: {} must be a positive int, got {!r}'.format(
                label, name, channels))
        if channels % groups:
            raise ValueError('{}: {} ({}) must be divisible by groups ({})'.format(
                label, name, channels, groups))


class Convolution2D(Link):
    """A 2-D convolution layer over inputs of shape (N, C, H, W).

    ``Convolution2D(out_channels, ksize)`` (two arguments) means ``in_channels=None``: the
    input channels are read from the first input, as in Chainer.

    Args:
        in_channels (int or None): input channels C; None infers them at the first call.
        out_channels (int): output channels.
        ksize (int or pair of ints): kernel height and width.
        stride (int or pair of ints): stride of the kernel.
        pad (int or pair of ints): zeros added around the spatial axes.
        nobias (bool): no bias term.
        initialW: initializer of W (LeCunNormal by default).
        initial_bias: initializer of b (zeros by default).
        dilate (int or pair of ints): dilation of the kernel.
        groups (int): channel groups convolved separately; divides both channel counts.
    Attributes:
        W (Parameter): filters of shape (out_channels, in_channels // groups, kh, kw).
        b (Parameter or None): bias of shape (out_channels,).
    """

    def __init__(self, in_channels, out_channels, ksize=None, stride=1, pad=0, nobias=False,
                 initialW=None, initial_bias=None, *, dilate=1, groups=1):
        super().__init__()
        if ksize is None:
            in_channels, out_channels, ksize = None, in_channels, out_channels
        check_channels('Convolution2D', in_channels, out_channels, groups)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.ksize = ksize
        self.stride = _pair(stride)
        self.pad = _pair(pad)
        self.dilate = _pair(dilate)
        self.groups = groups
        with self.init_scope():
            self.W, self.b = weight_and_bias(initialW, initial_bias, nobias, out_channels)
            if in_channels is not None:
                self._initialize_params(in_channels)

    def _initialize_params(self, in_channels):
        self.in_channels = in_channels
        self.W.initialize((self.out_channels, in_channels // self.groups) + _pair(self.ksize))

    def forward(self, x):
        """Convolve ``x`` of shape (N, in_channels, H, W); returns (N, out_channels, H', W')."""
        if self.W.data is None:
            if x.ndim != 4:
                raise ValueError('Convolution2D: x must have 4 dimensions (N, C, H, W), got '
                                 'shape {}'.format(x.shape))
            check_channels('Convolution2D', x.shape[1], None, self.groups)
            self._initialize_params(x.shape[1])
        return convolution_2d(x, self.W, self.b, self.stride, self.pad, dilate=self.dilate,
                              groups=self.groups)
