"""BatchNormalization: batch normalization with running statistics, as a link."""
import copy
import numbers

import numpy

from dchain import initializers
from dchain.config import config, get_dtype
from dchain.functions.normalization.batch_normalization import (
    batch_normalization, fixed_batch_normalization)
from dchain.link import Link
from dchain.variable import Parameter


class BatchNormalization(Link):
    """Batch normalization of the outputs of linear or convolution layers.

    In training (``config.train``) it normalizes with the statistics of the batch and keeps
    moving averages of them (``avg_mean``, ``avg_var``); in test mode it normalizes with those
    averages. ``forward(x, finetune=True)`` instead accumulates the exact mean of the batch
    statistics over the calls since ``start_finetuning()`` (counted by ``N``), to compute the
    population statistics in one pass over the training data.

    Args:
        size (int, tuple of ints or None): the shape of the channel axes (gamma's shape); None
            infers it from the first input.
        decay (float): decay rate of the moving averages.
        eps (float): added to the variance for numerical stability.
        dtype: dtype of gamma, beta and the averages; None means ``config.dtype``, with
            ``mixed16`` mapped to float32 (the statistics need the precision).
        use_gamma (bool): learn a scale gamma (else a fixed 1).
        use_beta (bool): learn a shift beta (else a fixed 0).
        initial_gamma, initial_beta: initializers of gamma (ones) and beta (zeros).
        axis (int, tuple of ints or None): the axes averaged over. None: every axis but the
            channel axes, which follow the batch axis (axis 1 when size is inferred), so (0,)
            for (N, C) inputs and (0, 2, 3) for (N, C, H, W) inputs.
        initial_avg_mean, initial_avg_var: initial averages (zeros and ones).
    Attributes:
        gamma, beta (Parameter or None): scale and shift.
        avg_mean, avg_var (array): moving averages of the mean and (unbiased) variance;
            persistent, saved with the model.
        N (int): batches accumulated in fine-tuning; persistent.
    """

    def __init__(self, size=None, decay=0.9, eps=2e-5, dtype=None, use_gamma=True,
                 use_beta=True, initial_gamma=None, initial_beta=None, axis=None,
                 initial_avg_mean=None, initial_avg_var=None):
        super().__init__()
        if not 0 <= decay <= 1:
            raise ValueError('BatchNormalization: decay must be in [0, 1], got {}'.format(decay))
        if not eps > 0:
            raise ValueError('BatchNormalization: eps must be positive, got {}'.format(eps))
        self._dtype = get_dtype(dtype, map_mixed16=numpy.float32)
        if self._dtype.kind != 'f':
            raise TypeError('BatchNormalization: dtype must be a float dtype, got {}'.format(
                self._dtype))
        self.decay = decay
        self.eps = eps
        self.axis = (int(axis),) if isinstance(axis, numbers.Integral) else axis
        self._initial_avg_mean = 0 if initial_avg_mean is None else initial_avg_mean
        self._initial_avg_var = 1 if initial_avg_var is None else initial_avg_var
        self.add_persistent('avg_mean', None)
        self.add_persistent('avg_var', None)
        self.add_persistent('N', 0)
        with self.init_scope():
            self.gamma = self._parameter(initial_gamma, 1) if use_gamma else None
            self.beta = self._parameter(initial_beta, 0) if use_beta else None
        if size is not None:
            self._initialize_params(tuple(size) if isinstance(size, (tuple, list)) else (size,))

    def _parameter(self, initializer, default):
        initializer = copy.copy(initializers._get_initializer(
            default if initializer is None else initializer))
        initializer.dtype = self._dtype
        return Parameter(initializer)

    def _initialize_params(self, shape):
        for param in (self.gamma, self.beta):
            if param is not None:
                param.initialize(shape)
        device = self._device
        self.avg_mean = device.send(initializers.generate_array(
            self._initial_avg_mean, shape, dtype=self._dtype))
        self.avg_var = device.send(initializers.generate_array(
            self._initial_avg_var, shape, dtype=self._dtype))

    def _channel_shape(self, x):
        if self.axis is None:
            if x.ndim < 2:
                raise ValueError('BatchNormalization: x must have a batch axis and a channel '
                                 'axis to infer size, got shape {}'.format(x.shape))
            return (x.shape[1],)
        reduced = {a % x.ndim for a in self.axis}
        return tuple(n for i, n in enumerate(x.shape) if i not in reduced)

    def start_finetuning(self):
        """Restart the accumulation of fine-tuning statistics (``N = 0``)."""
        self.N = 0

    def forward(self, x, finetune=False):
        """Normalize ``x`` (channel axes after the batch axis, or as ``axis`` says).

        ``finetune=True`` (training only) accumulates the population statistics instead of
        the moving averages.
        """
        if self.avg_mean is None:
            self._initialize_params(self._channel_shape(x))
        avg_mean = self.avg_mean
        gamma, beta = self.gamma, self.beta
        if gamma is None or beta is None:
            xp = self._device.xp
            if gamma is None:
                gamma = xp.ones(avg_mean.shape, avg_mean.dtype)
            if beta is None:
                beta = xp.zeros(avg_mean.shape, avg_mean.dtype)
        if config.train:
            if finetune:
                self.N += 1
                decay = 1.0 - 1.0 / self.N
            else:
                decay = self.decay
            return batch_normalization(x, gamma, beta, eps=self.eps, running_mean=avg_mean,
                                       running_var=self.avg_var, decay=decay, axis=self.axis)
        return fixed_batch_normalization(x, gamma, beta, avg_mean, self.avg_var, eps=self.eps,
                                         axis=self.axis)
