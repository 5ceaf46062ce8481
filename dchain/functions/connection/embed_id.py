"""embed_id: rows of an embedding matrix picked by integer ids (a linear map of one-hot input)."""
import numpy

from dchain import backend
from dchain.config import config
from dchain.function_node import FunctionNode


class EmbedIDFunction(FunctionNode):
    label = 'embed_id'

    def __init__(self, ignore_label=None):
        self.ignore_label = ignore_label

    def check_type_forward(self, inputs):
        x, W = inputs
        if x.dtype.kind != 'i':
            raise TypeError('embed_id: x must be an array of signed integer ids, got {}'.format(
                x.dtype))
        if W.dtype.kind != 'f':
            raise TypeError('embed_id: W must be a float array, got {}'.format(W.dtype))
        if W.ndim != 2:
            raise ValueError('embed_id: W must be a 2-D array (n_vocab, n_units), got shape {}'
                             .format(W.shape))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, W = inputs
        self.retain_inputs((0,))
        self._w_shape = W.shape
        ignore = None if self.ignore_label is None else x == self.ignore_label
        # A range check reads every id back on the host: always on the CPU, where it costs one
        # pass, and on a GPU (where it would stall the stream) only in debug mode.
        if x.size and (xp is numpy or config.debug):
            ids = x if ignore is None else xp.where(ignore, 0, x)
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= len(W):
                raise ValueError('embed_id: ids in x must be in [0, {}){}, got ids from {} to {}'
                                 .format(len(W), '' if ignore is None else
                                         ' or equal ignore_label={}'.format(self.ignore_label),
                                         low, high))
        if ignore is None:
            return W.take(x, axis=0),
        self._ignore = ignore
        y = W.take(xp.where(ignore, 0, x), axis=0)
        y[ignore] = 0
        return y,

    def backward(self, indexes, grad_outputs):
        x, = self.get_retained_inputs()
        gy, = grad_outputs
        result = []
        for i in indexes:
            if i == 0:
                result.append(None)  # ids are not differentiable
            else:
                result.append(EmbedIDGrad(self._w_shape, self.ignore_label).apply((x, gy))[0])
        return tuple(result)


class EmbedIDGrad(FunctionNode):
    """The gradient of W: each row of gy added to the row of its id (repeated ids add up)."""

    label = 'embed_id_grad'

    def __init__(self, w_shape, ignore_label):
        self.w_shape = w_shape
        self.ignore_label = ignore_label

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, gy = inputs
        self.retain_inputs((0,))
        gW = xp.zeros(self.w_shape, gy.dtype)
        ids = x.ravel()
        rows = gy.reshape(ids.size, self.w_shape[1])
        if self.ignore_label is not None:
            keep = ids != self.ignore_label
            ids, rows = ids[keep], rows[keep]
        # add.at accumulates repeated ids; on flat element indices it runs several times
        # faster than on whole rows. int64, so that vocab * units may pass 2**31.
        n_units = self.w_shape[1]
        flat = ids.astype(numpy.int64)[:, None] * n_units + xp.arange(n_units)
        xp.add.at(gW.reshape(-1), flat.reshape(-1), rows.reshape(-1))
        return gW,

    def backward(self, indexes, grad_outputs):
        x, = self.get_retained_inputs()
        ggW, = grad_outputs
        result = []
        for i in indexes:
            if i == 0:
                result.append(None)
            else:
                result.append(embed_id(x, ggW, self.ignore_label))
        return tuple(result)


def embed_id(x, W, ignore_label=None):
    """Look up the rows of ``W`` for the ids in ``x`` (word embedding).

    Args:
        x: signed integer ids of any shape, each in ``[0, n_vocab)`` or equal to
            ``ignore_label``.
        W: the embedding matrix of shape (n_vocab, n_units), float.
        ignore_label (int or None): an id whose output rows are zeros (and which gets no
            gradient).
    Returns:
        A Variable of shape ``x.shape + (n_units,)`` and the dtype of ``W``. Only ``W`` is
        differentiable; repeated ids accumulate their gradients.
    """
    return EmbedIDFunction(ignore_label).apply((x, W))[0]
