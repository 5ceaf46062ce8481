"""Links: layers with parameters (``import dchain.links as L``)."""
from dchain.links.connection.convolution_2d import Convolution2D  # noqa: F401
from dchain.links.connection.deconvolution_2d import Deconvolution2D  # noqa: F401
from dchain.links.connection.embed_id import EmbedID  # noqa: F401
from dchain.links.connection.linear import Linear  # noqa: F401
from dchain.links.model.classifier import Classifier  # noqa: F401
from dchain.links.normalization.batch_normalization import BatchNormalization  # noqa: F401
from dchain.links.normalization.layer_normalization import LayerNormalization  # noqa: F401
# Sequence models: recurrent links, the linear-chain CRF and sampled softmax losses.
from dchain.links.rnn.gru import GRU, StatefulGRU, StatelessGRU  # noqa: F401
from dchain.links.rnn.lstm import LSTM, StatelessLSTM  # noqa: F401
from dchain.links.rnn.n_step_rnn import (NStepBiGRU, NStepBiLSTM, NStepBiRNNReLU,  # noqa: F401
                                         NStepBiRNNTanh, NStepGRU, NStepLSTM, NStepRNNReLU,
                                         NStepRNNTanh)
from dchain.links.loss.crf1d import CRF1d  # noqa: F401
from dchain.links.loss.hierarchical_softmax import BinaryHierarchicalSoftmax  # noqa: F401
from dchain.links.loss.negative_sampling import NegativeSampling  # noqa: F401
from dchain.links.connection.convolution_nd import (  # noqa: F401
    Convolution1D, Convolution3D, ConvolutionND)
from dchain.links.connection.deconvolution_nd import (  # noqa: F401
    Deconvolution1D, Deconvolution3D, DeconvolutionND)
from dchain.links.connection.inception import Inception, InceptionBN  # noqa: F401
from dchain.links.connection.mlp_convolution_2d import MLPConvolution2D  # noqa: F401
