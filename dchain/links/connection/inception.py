"""Inception and InceptionBN: GoogLeNet's blocks of parallel convolutions."""
from dchain.functions.activation.relu import relu
from dchain.functions.array.concat import concat
from dchain.functions.pooling.average_pooling_2d import average_pooling_2d
from dchain.functions.pooling.max_pooling_2d import max_pooling_2d
from dchain.link import Chain
from dchain.links.connection.convolution_2d import Convolution2D
from dchain.links.normalization.batch_normalization import BatchNormalization


class Inception(Chain):
    """The Inception module of GoogLeNet (Szegedy et al., "Going Deeper with Convolutions").

    Four paths read the input and their outputs are concatenated along the channels: a 1x1
    convolution; a 1x1 projection, relu and 3x3 convolution; a 1x1 projection, relu and 5x5
    convolution; a 3x3 max pooling (stride 1) and 1x1 projection. A relu follows the
    concatenation.

    Args:
        in_channels (int or None): input channels; None infers them at the first call.
        out1 (int): output channels of the 1x1 path.
        proj3 (int): channels of the projection before the 3x3 convolution.
        out3 (int): output channels of the 3x3 path.
        proj5 (int): channels of the projection before the 5x5 convolution.
        out5 (int): output channels of the 5x5 path.
        proj_pool (int): output channels of the pooling path's projection.
        conv_init: initializer of every W (LeCunNormal by default).
        bias_init: initializer of every b (zeros by default).
    Input (N, in_channels, H, W) gives (N, out1 + out3 + out5 + proj_pool, H, W).
    """

    def __init__(self, in_channels, out1, proj3, out3, proj5, out5, proj_pool, conv_init=None,
                 bias_init=None):
        super().__init__()
        init = dict(initialW=conv_init, initial_bias=bias_init)
        with self.init_scope():
            self.conv1 = Convolution2D(in_channels, out1, 1, **init)
            self.proj3 = Convolution2D(in_channels, proj3, 1, **init)
            self.conv3 = Convolution2D(proj3, out3, 3, pad=1, **init)
            self.proj5 = Convolution2D(in_channels, proj5, 1, **init)
            self.conv5 = Convolution2D(proj5, out5, 5, pad=2, **init)
            self.projp = Convolution2D(in_channels, proj_pool, 1, **init)

    def forward(self, x):
        """Apply the block to ``x`` of shape (N, C, H, W)."""
        out1 = self.conv1(x)
        out3 = self.conv3(relu(self.proj3(x)))
        out5 = self.conv5(relu(self.proj5(x)))
        pool = self.projp(max_pooling_2d(x, 3, stride=1, pad=1))
        return relu(concat((out1, out3, out5, pool), axis=1))


class InceptionBN(Chain):
    """The Inception module with batch normalization (Ioffe and Szegedy, 2015).

    Like Inception, but every convolution (without bias) is followed by batch normalization
    and relu, the 5x5 path is two 3x3 convolutions, the pooling may be average pooling, and
    ``stride`` > 1 reduces the image (the 1x1 path must then be absent).

    Args:
        in_channels (int or None): input channels; None infers them at the first call.
        out1 (int): output channels of the 1x1 path; 0 leaves the path out.
        proj3 (int): channels of the projection before the 3x3 convolution.
        out3 (int): output channels of the 3x3 path.
        proj33 (int): channels of the projection before the double 3x3 convolution.
        out33 (int): output channels of the double 3x3 path.
        pooltype (str): 'max' or 'avg', the 3x3 pooling of the pooling path.
        proj_pool (int or None): output channels of a 1x1 projection after the pooling; None
            passes the pooled input through (its channels are then ``in_channels``).
        stride (int): stride of the last convolution of each path and of the pooling.
        conv_init: initializer of every W (LeCunNormal by default).
        dtype: the dtype of the batch normalization parameters (the link's default if None).
    Input (N, in_channels, H, W) gives (N, out1 + out3 + out33 + pool channels, H', W').
    """

    def __init__(self, in_channels, out1, proj3, out3, proj33, out33, pooltype, proj_pool=None,
                 stride=1, conv_init=None, dtype=None):
        super().__init__()
        if pooltype not in ('max', 'avg'):
            raise ValueError("InceptionBN: pooltype must be 'max' or 'avg', got {!r}".format(
                pooltype))
        if out1 > 0 and (stride != 1 or proj_pool is None):
            raise ValueError('InceptionBN: the 1x1 path (out1={}) needs stride 1 and a '
                             'proj_pool, got stride {} and proj_pool {}'.format(
                                 out1, stride, proj_pool))
        self.out1 = out1
        self.proj_pool = proj_pool
        self.stride = stride
        self.pooltype = pooltype
        norm = {} if dtype is None else {'dtype': dtype}
        conv = dict(nobias=True, initialW=conv_init)
        with self.init_scope():
            self.proj3 = Convolution2D(in_channels, proj3, 1, **conv)
            self.conv3 = Convolution2D(proj3, out3, 3, pad=1, stride=stride, **conv)
            self.proj33 = Convolution2D(in_channels, proj33, 1, **conv)
            self.conv33a = Convolution2D(proj33, out33, 3, pad=1, **conv)
            self.conv33b = Convolution2D(out33, out33, 3, pad=1, stride=stride, **conv)
            self.proj3n = BatchNormalization(proj3, **norm)
            self.conv3n = BatchNormalization(out3, **norm)
            self.proj33n = BatchNormalization(proj33, **norm)
            self.conv33an = BatchNormalization(out33, **norm)
            self.conv33bn = BatchNormalization(out33, **norm)
            if out1 > 0:
                self.conv1 = Convolution2D(in_channels, out1, 1, stride=stride, **conv)
                self.conv1n = BatchNormalization(out1, **norm)
            if proj_pool is not None:
                self.poolp = Convolution2D(in_channels, proj_pool, 1, **conv)
                self.poolpn = BatchNormalization(proj_pool, **norm)

    def forward(self, x):
        """Apply the block to ``x`` of shape (N, C, H, W)."""
        outs = []
        if self.out1 > 0:
            outs.append(relu(self.conv1n(self.conv1(x))))
        h3 = relu(self.proj3n(self.proj3(x)))
        outs.append(relu(self.conv3n(self.conv3(h3))))
        h33 = relu(self.proj33n(self.proj33(x)))
        h33 = relu(self.conv33an(self.conv33a(h33)))
        outs.append(relu(self.conv33bn(self.conv33b(h33))))
        if self.pooltype == 'max':
            pool = max_pooling_2d(x, 3, stride=self.stride, pad=1, cover_all=False)
        else:
            pool = average_pooling_2d(x, 3, stride=self.stride, pad=1)
        if self.proj_pool is not None:
            pool = relu(self.poolpn(self.poolp(pool)))
        outs.append(pool)
        return concat(outs, axis=1)
