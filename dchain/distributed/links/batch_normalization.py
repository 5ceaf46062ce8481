"""MultiNodeBatchNormalization: batch normalization over the global batch of every rank.

In training, each layer's mean and variance are those of the samples of all ranks together,
from one fused allreduce per layer in forward (each rank's sample count, sum and sum of
squares, in float64) and one in backward (the sums of ``gy`` and ``gy * x_hat``). Counts are
exact, so uneven and empty shares of a batch give the statistics of the global batch, and N
ranks equal one rank with plain BatchNormalization on the same global batch. Together with
the multi-node optimizer (which weights each rank's loss gradient by its share of the global
batch) the gradients are those of the global batch too.
"""
import numpy

from dchain import backend
from dchain.config import config
from dchain.function_node import FunctionNode
from dchain.functions.normalization.batch_normalization import (
    _check_params, _expanded, _reduced_axes, compute_dtype)
from dchain.links.normalization.batch_normalization import BatchNormalization


class MultiNodeBNFunction(FunctionNode):
    """Batch normalization whose statistics are reduced over ``comm`` (a collective)."""

    label = 'multi_node_batch_normalization'
    _retained_inputs = (0, 1)

    def __init__(self, comm, eps, running_mean, running_var, decay, axes):
        self.comm = comm
        self.eps = eps
        self.running_mean = running_mean
        self.running_var = running_var
        self.decay = decay
        self.axes = axes

    def check_type_forward(self, inputs):
        _check_params(self.label, inputs[0], self.axes, (inputs[1], inputs[2]),
                      ('gamma', 'beta'))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, gamma, beta = inputs
        axes, channels = self.axes, gamma.size
        dtype = compute_dtype(x.dtype, gamma.dtype)
        local = x.size // channels if channels else 0
        # [count, sum x, sum x^2] of every rank, summed in float64 in one collective.
        moments = xp.empty(1 + 2 * channels, numpy.float64)
        moments[0] = local
        moments[1:1 + channels] = x.sum(axis=axes, dtype=numpy.float64).reshape(-1)
        moments[1 + channels:] = xp.square(x, dtype=dtype).sum(
            axis=axes, dtype=numpy.float64).reshape(-1)
        self.comm.allreduce_inplace(moments)
        count = int(moments[0])
        if count == 0:
            # No rank has a sample (an empty micro-batch, an empty last batch): nothing to
            # normalize, and statistics of zero samples would be NaN.
            self._count = 0
            self._mean = xp.zeros(_expanded(x.shape, axes), dtype)
            self._inv_std = xp.ones(_expanded(x.shape, axes), dtype)
            return x.copy(),
        mean = moments[1:1 + channels] / count
        var = xp.maximum(moments[1 + channels:] / count - mean * mean, 0)
        shape = _expanded(x.shape, axes)
        self._count = count
        self._mean = mean.astype(dtype).reshape(shape)
        self._inv_std = (1.0 / xp.sqrt(var + self.eps)).astype(dtype).reshape(shape)
        y = x - self._mean
        y *= gamma.reshape(shape) * self._inv_std
        y += beta.reshape(shape)
        self._update_running(mean, var, count)
        return y.astype(x.dtype, copy=False),

    def _update_running(self, mean, var, count):
        decay = self.decay
        if self.running_mean is not None:
            self.running_mean *= decay
            self.running_mean += ((1 - decay) * mean).astype(self.running_mean.dtype).reshape(
                self.running_mean.shape)
        if self.running_var is not None:
            adjust = (1 - decay) * count / max(count - 1, 1)
            self.running_var *= decay
            self.running_var += (adjust * var).astype(self.running_var.dtype).reshape(
                self.running_var.shape)

    def backward(self, indexes, grad_outputs):
        if config.enable_backprop:
            raise NotImplementedError('{}: double backprop is not supported'.format(self.label))
        x, gamma = self.inputs[0].data, self.inputs[1].data
        gy = grad_outputs[0].data
        xp = backend.get_array_module(x)
        axes, channels = self.axes, gamma.size
        x_hat = x - self._mean
        x_hat *= self._inv_std
        sums = xp.empty(2 * channels, numpy.float64)
        sums[:channels] = gy.sum(axis=axes, dtype=numpy.float64).reshape(-1)
        sums[channels:] = (gy * x_hat).sum(axis=axes, dtype=numpy.float64).reshape(-1)
        local_gbeta = sums[:channels].astype(gamma.dtype).reshape(gamma.shape)
        local_ggamma = sums[channels:].astype(gamma.dtype).reshape(gamma.shape)
        # The parameter gradients stay this rank's: the optimizer sums them over ranks.
        self.comm.allreduce_inplace(sums)
        shape = _expanded(x.shape, axes)
        dtype = self._mean.dtype
        count = max(self._count, 1)
        gbeta = (sums[:channels] / count).astype(dtype).reshape(shape)
        ggamma = (sums[channels:] / count).astype(dtype).reshape(shape)
        result = []
        for i in indexes:
            if i == 0:
                x_hat *= ggamma
                x_hat += gbeta
                gx = gy - x_hat
                gx *= gamma.reshape(shape) * self._inv_std
                result.append(gx.astype(x.dtype, copy=False))
            else:
                result.append(local_ggamma if i == 1 else local_gbeta)
        return tuple(result)


class MultiNodeBatchNormalization(BatchNormalization):
    """Batch normalization whose training statistics cover the global batch of every rank.

    A drop-in replacement for ``L.BatchNormalization`` (ChainerMN's name and arguments). In
    training its forward and backward are collectives: every rank must run them, also a rank
    whose share of the batch is empty (the multi-node optimizer does so for models that hold
    this link). In test mode it normalizes with its running statistics, which are updated from
    the global statistics, so they stay the same on every rank.

    Args:
        size (int, tuple of ints or None): the channel shape (None: inferred from the input).
        comm: a dchain.distributed communicator.
        decay, eps, dtype, use_gamma, use_beta, initial_gamma, initial_beta, axis,
        initial_avg_mean, initial_avg_var: as in ``L.BatchNormalization``.
        communication_backend: accepted for compatibility with ChainerMN (the communicator
            chooses: MPI, or NCCL for GPU arrays with the 'nccl' communicator).
    """

    forward_is_collective = True

    def __init__(self, size, comm, decay=0.9, eps=2e-5, dtype=None, use_gamma=True,
                 use_beta=True, initial_gamma=None, initial_beta=None,
                 communication_backend='auto', axis=None, initial_avg_mean=None,
                 initial_avg_var=None):
        super().__init__(size, decay=decay, eps=eps,
                         dtype=numpy.float32 if dtype is None else dtype,
                         use_gamma=use_gamma, use_beta=use_beta, initial_gamma=initial_gamma,
                         initial_beta=initial_beta, axis=axis,
                         initial_avg_mean=initial_avg_mean, initial_avg_var=initial_avg_var)
        self.comm = comm

    def forward(self, x, finetune=False):
        """Normalize ``x`` with the global batch statistics (training) or the running ones."""
        if not config.train:
            return super().forward(x, finetune)
        x_array = getattr(x, 'array', x)
        if self.avg_mean is None:
            self._initialize_params(self._channel_shape(x_array))
        gamma, beta = self.gamma, self.beta
        if gamma is None or beta is None:
            xp = self._device.xp
            shape, dtype = self.avg_mean.shape, self.avg_mean.dtype
            gamma = xp.ones(shape, dtype) if gamma is None else gamma
            beta = xp.zeros(shape, dtype) if beta is None else beta
        if finetune:
            self.N += 1
            decay = 1.0 - 1.0 / self.N
        else:
            decay = self.decay
        axes = _reduced_axes(MultiNodeBNFunction.label, x_array, self.avg_mean, self.axis)
        node = MultiNodeBNFunction(self.comm, self.eps, self.avg_mean, self.avg_var, decay, axes)
        return node.apply((x, gamma, beta))[0]
