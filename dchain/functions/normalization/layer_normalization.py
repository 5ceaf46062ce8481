"""layer_normalization: normalize each row of a batch of vectors over its units."""
from dchain import backend
from dchain.config import config
from dchain.function_node import FunctionNode, check_dtype
from dchain.functions.normalization.batch_normalization import compute_dtype, normalization_grad


class LayerNormalization(FunctionNode):
    label = 'layer_normalization'
    _retained_inputs = (0, 1)

    def __init__(self, eps):
        self.eps = eps

    def check_type_forward(self, inputs):
        x, gamma, beta = inputs
        check_dtype(self.label, 'x', x, 'f', 'a float array')
        if x.ndim != 2:
            raise ValueError('layer_normalization: x must have 2 dimensions (batch, units), got '
                             'shape {}'.format(x.shape))
        for param, name in ((gamma, 'gamma'), (beta, 'beta')):
            if param.dtype.kind != 'f' or param.dtype != gamma.dtype:
                raise TypeError('layer_normalization: {} must be a float array of the dtype of '
                                'gamma ({}), got {}'.format(name, gamma.dtype, param.dtype))
            if param.shape != x.shape[1:]:
                raise ValueError('layer_normalization: {} must have shape {} for x of shape {}, '
                                 'got {}'.format(name, x.shape[1:], x.shape, param.shape))

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, gamma, beta = inputs
        mean = x.mean(axis=1, dtype=compute_dtype(x.dtype, gamma.dtype), keepdims=True)
        y = x - mean
        inv_std = xp.square(y).mean(axis=1, keepdims=True)
        inv_std += self.eps
        xp.sqrt(inv_std, out=inv_std)
        xp.reciprocal(inv_std, out=inv_std)
        self._mean, self._inv_std = mean, inv_std
        y *= inv_std
        y *= gamma
        y += beta
        return y.astype(x.dtype, copy=False),

    def backward(self, indexes, grad_outputs):
        x, gamma = self.inputs[0], self.inputs[1]
        gy, = grad_outputs
        if config.enable_backprop:
            grads = normalization_grad(x, gamma, gy, self.eps, (1,), (0,), (1, gamma.shape[0]))
            return tuple([grads[i] for i in indexes])
        x, gamma, gy = x.data, gamma.data, gy.data
        x_hat = x - self._mean
        x_hat *= self._inv_std
        result = []
        for i in indexes:
            if i == 0:
                g = gy * gamma
                # gx = (g - mean(g) - x_hat * mean(g * x_hat)) / std, row by row.
                gx = g - g.mean(axis=1, keepdims=True)
                g *= x_hat
                gx -= x_hat * g.mean(axis=1, keepdims=True)
                gx *= self._inv_std
                result.append(gx.astype(x.dtype, copy=False))
            elif i == 1:
                result.append((gy * x_hat).sum(axis=0).astype(gamma.dtype, copy=False))
            else:
                result.append(gy.sum(axis=0, dtype=x_hat.dtype).astype(gamma.dtype, copy=False))
        return tuple(result)


def layer_normalization(x, gamma, beta, eps=1e-5):
    """Layer normalization: each row of x is shifted to mean 0 and scaled to variance 1 over
    its units, then ``gamma * x_hat + beta``.

    Args:
        x: a float Variable or array of shape (batch, units).
        gamma, beta: scale and shift of shape (units,), of one float dtype.
        eps (float): added to the variance.
    Returns:
        A Variable of x's shape and dtype.
    """
    return LayerNormalization(eps).apply((x, gamma, beta))[0]
