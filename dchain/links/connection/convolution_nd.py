"""ConvolutionND, Convolution1D and Convolution3D: N-dimensional convolution layers."""
import numbers

from dchain.functions.connection.convolution_nd import as_tuple, convolution_nd
from dchain.link import Link
from dchain.links.connection._parameters import weight_and_bias
from dchain.links.connection.convolution_2d import check_channels


class _ConnectionND(Link):
    """What ConvolutionND and DeconvolutionND share: the argument checks, the parameters W and
    b, and W's initialization from the first input when ``in_channels`` is None. A subclass
    gives the filter shape for its input channels."""

    def __init__(self, ndim, in_channels, out_channels, ksize, stride, pad, nobias, initialW,
                 initial_bias, dilate, groups):
        super().__init__()
        label = type(self).__name__
        if ksize is None:
            in_channels, out_channels, ksize = None, in_channels, out_channels
        if isinstance(ndim, bool) or not isinstance(ndim, numbers.Integral) or ndim < 1:
            raise ValueError('{}: ndim must be a positive int, got {!r}'.format(label, ndim))
        ndim = int(ndim)
        check_channels(label, in_channels, out_channels, groups)
        self.ndim = ndim
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.ksize = as_tuple(label, 'ksize', ksize, ndim, 1)
        self.stride = as_tuple(label, 'stride', stride, ndim, 1)
        self.pad = as_tuple(label, 'pad', pad, ndim, 0)
        self.dilate = as_tuple(label, 'dilate', dilate, ndim, 1)
        self.groups = groups
        with self.init_scope():
            self.W, self.b = weight_and_bias(initialW, initial_bias, nobias, out_channels)
            if in_channels is not None:
                self._initialize_params(in_channels)

    def _filter_shape(self, in_channels):
        raise NotImplementedError

    def _initialize_params(self, in_channels):
        self.in_channels = in_channels
        self.W.initialize(self._filter_shape(in_channels))

    def _initialize_from_input(self, x):
        """Initialize W from the channels of the first input ``x`` when they were not given."""
        if self.W.data is None:
            if x.ndim != self.ndim + 2:
                raise ValueError('{}: x must have {} dimensions (N, C, d1, ...), got shape {}'
                                 .format(type(self).__name__, self.ndim + 2, x.shape))
            check_channels(type(self).__name__, x.shape[1], None, self.groups)
            self._initialize_params(x.shape[1])


class ConvolutionND(_ConnectionND):
    """An N-dimensional convolution layer over inputs of shape (N, C, d1, ..., dn).

    ``ConvolutionND(ndim, out_channels, ksize)`` (without ``in_channels``) infers the input
    channels from the first input, as in Chainer.

    Args:
        ndim (int): the number of spatial axes n.
        in_channels (int or None): input channels C; None infers them at the first call.
        out_channels (int): output channels.
        ksize (int or tuple of n ints): kernel size per axis.
        stride (int or tuple of n ints): stride per axis.
        pad (int or tuple of n ints): zeros added on each side of each axis.
        nobias (bool): no bias term.
        initialW: initializer of W (LeCunNormal by default).
        initial_bias: initializer of b (zeros by default).
        cover_all (bool): round the output size up so that every input element is covered.
        dilate (int or tuple of n ints): dilation of the kernel.
        groups (int): channel groups convolved separately; divides both channel counts.
    Attributes:
        W (Parameter): filters of shape (out_channels, in_channels // groups, k1, ..., kn).
        b (Parameter or None): bias of shape (out_channels,).
    """

    def __init__(self, ndim, in_channels, out_channels, ksize=None, stride=1, pad=0,
                 nobias=False, initialW=None, initial_bias=None, cover_all=False, dilate=1,
                 groups=1):
        super().__init__(ndim, in_channels, out_channels, ksize, stride, pad, nobias, initialW,
                         initial_bias, dilate, groups)
        self.cover_all = bool(cover_all)

    def _filter_shape(self, in_channels):
        return (self.out_channels, in_channels // self.groups) + self.ksize

    def forward(self, x):
        """Convolve ``x`` of shape (N, in_channels, d1, ..., dn)."""
        self._initialize_from_input(x)
        return convolution_nd(x, self.W, self.b, self.stride, self.pad, self.cover_all,
                              self.dilate, self.groups)


class Convolution1D(ConvolutionND):
    """A 1-D convolution layer over inputs of shape (N, C, L): ``ConvolutionND`` with
    ``ndim=1``; the arguments are those of ConvolutionND after ``ndim``."""

    def __init__(self, in_channels, out_channels, ksize=None, stride=1, pad=0, nobias=False,
                 initialW=None, initial_bias=None, cover_all=False, dilate=1, groups=1):
        super().__init__(1, in_channels, out_channels, ksize, stride, pad, nobias, initialW,
                         initial_bias, cover_all, dilate, groups)


class Convolution3D(ConvolutionND):
    """A 3-D convolution layer over inputs of shape (N, C, D, H, W): ``ConvolutionND`` with
    ``ndim=3``; the arguments are those of ConvolutionND after ``ndim``."""

    def __init__(self, in_channels, out_channels, ksize=None, stride=1, pad=0, nobias=False,
                 initialW=None, initial_bias=None, cover_all=False, dilate=1, groups=1):
        super().__init__(3, in_channels, out_channels, ksize, stride, pad, nobias, initialW,
                         initial_bias, cover_all, dilate, groups)
