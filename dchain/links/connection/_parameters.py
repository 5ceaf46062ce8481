"""The weight and bias parameters that Linear and the convolution links create alike."""
from dchain import initializers
from dchain.variable import Parameter


def weight_and_bias(initialW, initial_bias, nobias, bias_size):
    """A Parameter W (shaped later, by the link) and a bias of ``bias_size`` (zeros unless
    ``initial_bias``), or None for the bias when ``nobias``."""
    W = Parameter(initializers._get_initializer(initialW))
    if nobias:
        return W, None
    bias = initializers._get_initializer(0 if initial_bias is None else initial_bias)
    return W, Parameter(bias, bias_size)
