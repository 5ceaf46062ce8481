"""Differentiable functions (``import dchain.functions as F``).

Each works on NumPy and CuPy arrays or Variables and returns Variables.
"""
from dchain.functions.array.broadcast import broadcast, broadcast_to, sum_to  # noqa: F401
from dchain.functions.array.get_item import get_item  # noqa: F401
from dchain.functions.array.reshape import expand_dims, flatten, reshape, squeeze  # noqa: F401
from dchain.functions.array.transpose import swapaxes, transpose  # noqa: F401
from dchain.functions.math.basic_math import absolute, add, div, mul, neg, sub  # noqa: F401
from dchain.functions.math.exponential import exp, log, rsqrt, sqrt, square  # noqa: F401
from dchain.functions.math.matmul import batch_matmul, matmul  # noqa: F401
from dchain.functions.math.sum import average, mean, sum  # noqa: F401,A004
from dchain.functions.connection.linear import linear  # noqa: F401
from dchain.functions.activation.elu import elu  # noqa: F401
from dchain.functions.activation.gelu import gelu  # noqa: F401
from dchain.functions.activation.log_softmax import log_softmax  # noqa: F401
from dchain.functions.activation.relu import leaky_relu, relu  # noqa: F401
from dchain.functions.activation.sigmoid import sigmoid  # noqa: F401
from dchain.functions.activation.softmax import softmax  # noqa: F401
from dchain.functions.activation.softplus import softplus  # noqa: F401
from dchain.functions.activation.swish import swish  # noqa: F401
from dchain.functions.activation.tanh import tanh  # noqa: F401
from dchain.functions.array.cast import cast  # noqa: F401
from dchain.functions.array.concat import concat, split_axis  # noqa: F401
from dchain.functions.array.pad import pad  # noqa: F401
from dchain.functions.array.stack import separate, stack  # noqa: F401
from dchain.functions.array.where import where  # noqa: F401
from dchain.functions.math.clip import clip  # noqa: F401
from dchain.functions.math.minmax import max, maximum, min, minimum  # noqa: F401,A004
from dchain.functions.connection.convolution_2d import convolution_2d  # noqa: F401
from dchain.functions.connection.deconvolution_2d import deconvolution_2d  # noqa: F401
from dchain.functions.pooling.average_pooling_2d import average_pooling_2d  # noqa: F401
from dchain.functions.pooling.max_pooling_2d import max_pooling_2d  # noqa: F401
from dchain.functions.evaluation.accuracy import accuracy  # noqa: F401
from dchain.functions.loss.huber_loss import huber_loss  # noqa: F401
from dchain.functions.loss.mean_absolute_error import mean_absolute_error  # noqa: F401
from dchain.functions.loss.mean_squared_error import mean_squared_error  # noqa: F401
from dchain.functions.loss.sigmoid_cross_entropy import sigmoid_cross_entropy  # noqa: F401
from dchain.functions.loss.softmax_cross_entropy import softmax_cross_entropy  # noqa: F401
from dchain.functions.noise.dropout import dropout  # noqa: F401
from dchain.functions.normalization.batch_normalization import (  # noqa: F401
    batch_normalization, fixed_batch_normalization)
from dchain.functions.normalization.layer_normalization import layer_normalization  # noqa: F401
from dchain.functions.connection.embed_id import embed_id  # noqa: F401
# Sequence models: the LSTM cell, n-step RNNs, sequence transposition, CRF and sampled losses.
from dchain.functions.array.permutate import permutate  # noqa: F401
from dchain.functions.array.transpose_sequence import transpose_sequence  # noqa: F401
from dchain.functions.rnn.lstm import lstm  # noqa: F401
from dchain.functions.rnn.n_step_gru import n_step_bigru, n_step_gru  # noqa: F401
from dchain.functions.rnn.n_step_lstm import n_step_bilstm, n_step_lstm  # noqa: F401
from dchain.functions.rnn.n_step_rnn import n_step_birnn, n_step_rnn  # noqa: F401
from dchain.functions.array.select_item import select_item  # noqa: F401
from dchain.functions.math.linear_interpolate import linear_interpolate  # noqa: F401
from dchain.functions.math.logsumexp import logsumexp  # noqa: F401
from dchain.functions.loss.crf1d import argmax_crf1d, crf1d  # noqa: F401
from dchain.functions.loss.negative_sampling import negative_sampling  # noqa: F401
from dchain.functions.connection.convolution_nd import (  # noqa: F401
    convolution_1d, convolution_3d, convolution_nd)
from dchain.functions.connection.deconvolution_nd import (  # noqa: F401
    deconvolution_1d, deconvolution_3d, deconvolution_nd)
from dchain.functions.evaluation.binary_accuracy import binary_accuracy  # noqa: F401
from dchain.functions.normalization.local_response_normalization import (  # noqa: F401
    local_response_normalization)
from dchain.functions.array.identity import identity  # noqa: F401
