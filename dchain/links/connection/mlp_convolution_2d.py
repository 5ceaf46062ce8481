"""MLPConvolution2D: Network in Network's "mlpconv" layer."""
from dchain.functions.activation.relu import relu
from dchain.link import ChainList
from dchain.links.connection.convolution_2d import Convolution2D


class MLPConvolution2D(ChainList):
    """A convolution followed by 1x1 convolutions, with an activation between them (Lin et al.,
    "Network In Network", 2014).

    ``MLPConvolution2D(out_channels, ksize)`` (without ``in_channels``) infers the input
    channels from the first input, as in Chainer.

    Args:
        in_channels (int or None): input channels; None infers them at the first call.
        out_channels (tuple of ints): output channels of each convolution, in order; the first
            has kernel ``ksize``, the rest are 1x1.
        ksize (int or pair of ints): kernel size of the first convolution.
        stride (int or pair of ints): stride of the first convolution.
        pad (int or pair of ints): padding of the first convolution.
        activation (callable): applied after every convolution but the last (relu).
        conv_init: initializer of every W (LeCunNormal by default).
        bias_init: initializer of every b (zeros by default).
    Input (N, in_channels, H, W) gives (N, out_channels[-1], H', W').
    """

    def __init__(self, in_channels, out_channels, ksize=None, stride=1, pad=0,
                 activation=relu, conv_init=None, bias_init=None):
        if ksize is None:
            in_channels, out_channels, ksize = None, in_channels, out_channels
        if not isinstance(out_channels, (tuple, list)) or not out_channels:
            raise ValueError('MLPConvolution2D: out_channels must be a non-empty tuple of ints, '
                             'got {!r}'.format(out_channels))
        convs = [Convolution2D(in_channels, out_channels[0], ksize, stride, pad,
                               initialW=conv_init, initial_bias=bias_init)]
        for n_in, n_out in zip(out_channels, out_channels[1:]):
            convs.append(Convolution2D(n_in, n_out, 1, initialW=conv_init,
                                       initial_bias=bias_init))
        super().__init__(*convs)
        self.activation = activation

    def forward(self, x):
        """Apply the convolutions to ``x`` of shape (N, C, H, W)."""
        layers = list(self)
        for layer in layers[:-1]:
            x = self.activation(layer(x))
        return layers[-1](x)
