"""batch_normalization and fixed_batch_normalization: normalize over the batch (and spatial) axes.

Statistics are taken over the axes in ``axis``; gamma, beta and the statistics have the shape of
the remaining (channel) axes. A float16 input is normalized with float32 statistics, and gamma
may have another float dtype than x (the output keeps x's dtype), as in Chainer.
"""
import numbers

import numpy

from dchain import backend
from dchain.config import config
from dchain.function_node import FunctionNode
from dchain.functions.array.cast import cast
from dchain.functions.array.reshape import reshape
from dchain.functions.math.exponential import rsqrt
from dchain.functions.math.sum import mean as _mean, sum as _sum


def compute_dtype(x_dtype, gamma_dtype):
    """The dtype statistics are computed in: at least float32, and as wide as x and gamma."""
    return numpy.promote_types(numpy.promote_types(x_dtype, gamma_dtype), numpy.float32)


def normalization_grad(x, gamma, gy, eps, stat_axes, param_axes, expanded_shape):
    """Differentiable gradients (gx, ggamma, gbeta) of ``gamma * (x - mean) / std + beta``.

    The path taken when double backprop is asked for (batch and layer normalization share it).
    ``stat_axes``: the axes of the mean and variance; ``param_axes``: the axes gamma is
    broadcast along; ``expanded_shape``: gamma's shape made broadcastable to x.
    """
    mean = _mean(x, axis=stat_axes, keepdims=True)
    diff = x - mean
    inv_std = rsqrt(_mean(diff * diff, axis=stat_axes, keepdims=True) + eps)
    x_hat = diff * inv_std
    g = gy * reshape(cast(gamma, x.dtype), expanded_shape)
    gx = inv_std * (g - _mean(g, axis=stat_axes, keepdims=True)
                    - x_hat * _mean(g * x_hat, axis=stat_axes, keepdims=True))
    ggamma = cast(reshape(_sum(gy * x_hat, axis=param_axes), gamma.shape), gamma.dtype)
    gbeta = cast(reshape(_sum(gy, axis=param_axes), gamma.shape), gamma.dtype)
    return gx, ggamma, gbeta


def _reduced_axes(label, x, gamma, axis):
    """The sorted axes averaged over; Chainer's default is axis 0 and the axes after gamma's."""
    ndim = x.ndim
    if axis is None:
        if ndim < gamma.ndim + 1:
            raise ValueError('{}: x must have at least {} dimensions for gamma of shape {}, got '
                             'shape {}'.format(label, gamma.ndim + 1, gamma.shape, x.shape))
        return (0,) + tuple(range(gamma.ndim + 1, ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError('{}: axis {} is out of range for x of shape {}'.format(
                label, a, x.shape))
    normalized = tuple(sorted(a % ndim for a in axes))
    if len(set(normalized)) != len(normalized):
        raise ValueError('{}: axis {} repeats an axis'.format(label, axis))
    return normalized


def _check_params(label, x, axes, params, names):
    """Refuse a non-float x, and parameters without x's channel shape or of mixed dtypes."""
    if x.dtype.kind != 'f':
        raise TypeError('{}: x must be a float array, got {}'.format(label, x.dtype))
    channels = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    for param, name in zip(params, names):
        if param is None:
            continue
        if param.dtype.kind != 'f' or param.dtype != params[0].dtype:
            raise TypeError('{}: {} must be a float array of the dtype of gamma ({}), got {}'
                            .format(label, name, params[0].dtype, param.dtype))
        if param.shape != channels:
            raise ValueError('{}: {} must have the channel shape {} of x of shape {} (axes {} '
                             'averaged), got {}'.format(label, name, channels, x.shape, axes,
                                                        param.shape))


def _expanded(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class BatchNormalization(FunctionNode):
    label = 'batch_normalization'
    _retained_inputs = (0, 1)

    def __init__(self, eps, running_mean, running_var, decay, axes):
        self.eps = eps
        self.running_mean = running_mean
        self.running_var = running_var
        self.decay = decay
        self.axes = axes

    def check_type_forward(self, inputs):
        _check_params(self.label, inputs[0], self.axes,
                      (inputs[1], inputs[2], self.running_mean, self.running_var),
                      ('gamma', 'beta', 'running_mean', 'running_var'))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, gamma, beta = inputs
        axes = self.axes
        shape = _expanded(x.shape, axes)
        dtype = compute_dtype(x.dtype, gamma.dtype)
        if x.size == 0:
            # An empty batch: nothing to normalize; the running statistics stay as they are
            # (the mean of zero samples is NaN).
            self._mean = xp.zeros(shape, dtype)
            self._inv_std = xp.ones(shape, dtype)
            return x.copy(),
        mean = x.mean(axis=axes, dtype=dtype, keepdims=True)
        y = x - mean
        var = xp.square(y).mean(axis=axes, keepdims=True)
        inv_std = var + self.eps
        xp.sqrt(inv_std, out=inv_std)
        xp.reciprocal(inv_std, out=inv_std)
        self._mean, self._inv_std = mean, inv_std
        y *= gamma.reshape(shape) * inv_std
        y += beta.reshape(shape)
        self._update_running(mean, var, x.size // gamma.size)
        return y.astype(x.dtype, copy=False),

    def _update_running(self, mean, var, count):
        decay = self.decay
        if self.running_mean is not None:
            self.running_mean *= decay
            self.running_mean += (1 - decay) * mean.reshape(self.running_mean.shape)
        if self.running_var is not None:
            # The running variance is unbiased: m / (m - 1) times the batch variance.
            adjust = (1 - decay) * count / max(count - 1, 1)
            self.running_var *= decay
            self.running_var += adjust * var.reshape(self.running_var.shape)

    def backward(self, indexes, grad_outputs):
        x, gamma = self.inputs[0], self.inputs[1]
        gy, = grad_outputs
        axes = self.axes
        shape = _expanded(x.shape, axes)
        if config.enable_backprop:
            grads = normalization_grad(x, gamma, gy, self.eps, axes, axes, shape)
            return tuple([grads[i] for i in indexes])
        x, gamma, gy = x.data, gamma.data, gy.data
        x_hat = x - self._mean
        x_hat *= self._inv_std
        gbeta = gy.sum(axis=axes, dtype=x_hat.dtype, keepdims=True)
        ggamma = (gy * x_hat).sum(axis=axes, keepdims=True)
        result = []
        for i in indexes:
            if i == 0:
                x_hat *= ggamma
                x_hat += gbeta
                x_hat *= 1.0 / max(x.size // gamma.size, 1)
                gx = gy - x_hat
                gx *= gamma.reshape(shape) * self._inv_std
                result.append(gx.astype(x.dtype, copy=False))
            else:
                g = ggamma if i == 1 else gbeta
                result.append(g.reshape(gamma.shape).astype(gamma.dtype, copy=False))
        return tuple(result)


class FixedBatchNormalization(FunctionNode):
    label = 'fixed_batch_normalization'

    def __init__(self, eps, axes):
        self.eps = eps
        self.axes = axes

    def check_type_forward(self, inputs):
        _check_params(self.label, inputs[0], self.axes, inputs[1:],
                      ('gamma', 'beta', 'mean', 'var'))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, gamma, beta, mean, var = inputs
        shape = _expanded(x.shape, self.axes)
        scale = var.astype(compute_dtype(x.dtype, gamma.dtype))
        scale += self.eps
        xp.sqrt(scale, out=scale)
        xp.divide(gamma, scale, out=scale)
        shift = beta - mean * scale
        y = x * scale.reshape(shape)
        y += shift.reshape(shape)
        return y.astype(x.dtype, copy=False),

    def backward(self, indexes, grad_outputs):
        x, gamma, _, mean, var = self.inputs
        gy, = grad_outputs
        axes = self.axes
        shape = _expanded(x.shape, axes)
        inv_std = rsqrt(var + self.eps)
        gy_p = cast(gy, gamma.dtype)  # parameter gradients in gamma's dtype
        grads = {}
        if 0 in indexes:
            grads[0] = cast(gy_p * reshape(gamma * inv_std, shape), x.dtype)
        if 2 in indexes or 3 in indexes:
            grads[2] = _sum(gy_p, axis=axes)
            if 3 in indexes:
                grads[3] = -grads[2] * gamma * inv_std
        if 1 in indexes or 4 in indexes:
            x_hat = (cast(x, gamma.dtype) - reshape(mean, shape)) * reshape(inv_std, shape)
            grads[1] = _sum(gy_p * x_hat, axis=axes)
            if 4 in indexes:
                grads[4] = grads[1] * gamma * (inv_std * inv_std) * -0.5
        return tuple([grads[i] for i in indexes])


def batch_normalization(x, gamma, beta, eps=2e-5, running_mean=None, running_var=None,
                        decay=0.9, axis=None):
    """Batch normalization with the statistics of the batch: ``gamma * x_hat + beta``.

    ``x_hat`` is x minus its mean over ``axis``, divided by ``sqrt(var + eps)``.

    Args:
        x: a float Variable or array, e.g. (N, C) or (N, C, H, W).
        gamma, beta: scale and shift of x's channel shape (the axes not averaged), e.g. (C,).
        eps (float): added to the variance.
        running_mean, running_var (arrays or None): moving averages of the mean and the
            unbiased variance, of the channel shape; updated in place when given as
            ``decay * running + (1 - decay) * batch statistic``.
        decay (float): decay rate of the moving averages.
        axis (int, tuple of ints or None): the axes averaged over; None averages axis 0 and
            every axis after gamma's, e.g. (0, 2, 3) for (N, C, H, W) and gamma of shape (C,).
    Returns:
        A Variable of x's shape and dtype.
    """
    axes = _reduced_axes('batch_normalization', x, gamma, axis)
    node = BatchNormalization(eps, running_mean, running_var, decay, axes)
    return node.apply((x, gamma, beta))[0]


def fixed_batch_normalization(x, gamma, beta, mean, var, eps=2e-5, axis=None):
    """Batch normalization with given statistics (test mode): ``gamma * (x - mean) /
    sqrt(var + eps) + beta``.

    Args:
        x: a float Variable or array.
        gamma, beta, mean, var: Variables or arrays of x's channel shape, of one float dtype.
        eps (float): added to the variance.
        axis (int, tuple of ints or None): the axes normalized over, as in batch_normalization.
    Returns:
        A Variable of x's shape and dtype; its gradients (for every input) support double
        backprop.
    """
    axes = _reduced_axes('fixed_batch_normalization', x, gamma, axis)
    return FixedBatchNormalization(eps, axes).apply((x, gamma, beta, mean, var))[0]
