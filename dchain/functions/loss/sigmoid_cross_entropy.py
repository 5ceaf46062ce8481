"""sigmoid_cross_entropy: the binary classification loss on unnormalized scores."""
import numpy

from dchain import backend
from dchain.function_node import FunctionNode
from dchain.functions.activation.sigmoid import sigmoid
from dchain.functions.loss.softmax_cross_entropy import check_labels
from dchain.utils import force_array

_REDUCE = ('mean', 'no')


class SigmoidCrossEntropy(FunctionNode):
    label = 'sigmoid_cross_entropy'
    ignore_label = -1

    def __init__(self, normalize, reduce):
        self.normalize = normalize
        self.reduce = reduce

    def check_type_forward(self, inputs):
        x, t = inputs
        if x.dtype.kind != 'f':
            raise TypeError('sigmoid_cross_entropy: x must be a float array of scores, got {}'
                            .format(x.dtype))
        if t.dtype.kind != 'i':
            raise TypeError('sigmoid_cross_entropy: t must be an integer array of labels 0, 1 or '
                            '-1 (int32), got {}'.format(t.dtype))
        if x.shape != t.shape:
            raise ValueError('sigmoid_cross_entropy: x and t must have the same shape, got {} and '
                             '{}'.format(x.shape, t.shape))
        check_labels('sigmoid_cross_entropy', t, 2, self.ignore_label)

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, t = inputs
        mask = t != self.ignore_label
        target = t.astype(x.dtype)
        # max(x, 0) - x t + log(1 + exp(-|x|)): log(1 + exp(x)) - x t without overflow.
        loss = xp.exp(-abs(x))
        xp.log1p(loss, out=loss)
        loss += xp.maximum(x, 0)
        loss -= x * target
        loss *= mask
        self._target, self._mask = target, mask.astype(x.dtype)
        if self.reduce == 'no':
            return loss,
        count = xp.maximum(xp.count_nonzero(mask), 1) if self.normalize else max(x.shape[0], 1)
        self._coeff = xp.asarray(1.0 / count, dtype=x.dtype)
        total = loss.sum(dtype=numpy.promote_types(x.dtype, numpy.float32))
        return force_array(total * self._coeff, x.dtype),

    def backward(self, indexes, grad_outputs):
        x = self.inputs[0]
        gy, = grad_outputs
        weight = self._mask
        if self.reduce == 'mean':
            weight = weight * self._coeff
        # Built from differentiable functions: (sigmoid(x) - t) * gy / count.
        return (sigmoid(x) - self._target) * (gy * weight), None


def sigmoid_cross_entropy(x, t, normalize=True, reduce='mean'):
    """Cross entropy between ``sigmoid(x)`` and binary labels ``t``, elementwise.

    Args:
        x: float scores (pre-sigmoid) of any shape, e.g. (N, K).
        t: integer labels 0 or 1 of x's shape; entries equal to -1 add no loss.
        normalize (bool): with ``reduce='mean'``, divide by the number of entries not ignored
            (True) or by the batch size ``x.shape[0]`` (False).
        reduce (str): 'mean' for a scalar, 'no' for elementwise losses (0 where ignored).
    Returns:
        A Variable of x's dtype: a scalar, or of x's shape with ``reduce='no'``.
    """
    if reduce not in _REDUCE:
        raise ValueError("sigmoid_cross_entropy: reduce must be 'mean' or 'no', got {!r}"
                         .format(reduce))
    return SigmoidCrossEntropy(normalize, reduce).apply((x, t))[0]
