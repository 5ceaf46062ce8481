"""softmax_cross_entropy: the classification loss on unnormalized scores, as one fused node.

The forward computes the log-softmax once and reads it at the labels; the backward is
``(softmax - onehot(t)) * gy / count``, made by subtracting at the label positions without
building a one-hot matrix. When double backprop is asked for, the gradient is built from
differentiable functions instead, so second derivatives are exact either way.
"""
import numpy

from dchain import backend
from dchain.config import config
from dchain.function_node import FunctionNode
from dchain.functions.activation.log_softmax import log_softmax
from dchain.functions.activation.softmax import softmax
from dchain.functions.array.reshape import reshape
from dchain.functions.math.sum import sum as _sum
from dchain.utils import force_array
from dchain.variable import Variable, _is_array, _type_name

_REDUCE = ('mean', 'no')
_SOFT_TARGET_EPS = 1e-7


def check_labels(label, t, n_classes, ignore_label):
    """Refuse class ids outside [0, n_classes) other than ``ignore_label``.

    Two reductions over t (on a GPU, one wait for the device); callers run it only while
    ``config.type_check`` is on, so a tuned run can switch it off.
    """
    if t.size == 0 or (int(t.min()) >= 0 and int(t.max()) < n_classes):
        return
    bad = ((t < 0) | (t >= n_classes)) & (t != ignore_label)
    if bad.any():
        raise ValueError('{}: t must hold class ids in [0, {}) or ignore_label ({}), got {}'
                         .format(label, n_classes, ignore_label, int(t[bad][0])))


def _label_index(xp, t, n_classes):
    """Flat indices of each sample's label entry in a C-contiguous (N, C, d1, ...) array."""
    n = t.shape[0]
    if t.ndim == 1:
        return xp.arange(n) * n_classes + t
    rest = t.size // n if n else 0
    index = (xp.arange(n)[:, None] * n_classes + t.reshape(n, rest)) * rest + xp.arange(rest)
    return index.reshape(-1)


def _softmax_array(xp, x):
    y = x - x.max(axis=1, keepdims=True)
    xp.exp(y, out=y)
    y /= y.sum(axis=1, keepdims=True)
    return y


class SoftmaxCrossEntropy(FunctionNode):
    label = 'softmax_cross_entropy'

    def __init__(self, normalize, cache_score, class_weight, ignore_label, reduce):
        self.normalize = normalize
        self.cache_score = cache_score
        self.class_weight = class_weight
        self.ignore_label = ignore_label
        self.reduce = reduce

    def check_type_forward(self, inputs):
        x, t = inputs
        if x.dtype.kind != 'f':
            raise TypeError('softmax_cross_entropy: x must be a float array of scores, got {}'
                            .format(x.dtype))
        if t.dtype.kind != 'i':
            raise TypeError('softmax_cross_entropy: t must be an integer array of class labels '
                            '(int32), got {} of shape {} (float soft targets must have the '
                            'shape of x, {})'.format(t.dtype, t.shape, x.shape))
        if x.ndim < 2:
            raise ValueError('softmax_cross_entropy: x must have shape (N, C) or (N, C, d1, ...), '
                             'got {}'.format(x.shape))
        if t.shape[:1] != x.shape[:1]:
            raise ValueError('softmax_cross_entropy: x and t must have the same batch size, got x '
                             'of shape {} and t of shape {}'.format(x.shape, t.shape))
        if t.shape != x.shape[:1] + x.shape[2:]:
            raise ValueError('softmax_cross_entropy: t must have shape {} for x of shape {}, got {}'
                             .format(x.shape[:1] + x.shape[2:], x.shape, t.shape))
        weight = self.class_weight
        if weight is not None and (weight.dtype.kind != 'f' or weight.shape != x.shape[1:2]):
            raise ValueError('softmax_cross_entropy: class_weight must be a float array of shape '
                             '{}, got {} {}'.format(x.shape[1:2], weight.dtype, weight.shape))
        check_labels('softmax_cross_entropy', t, x.shape[1], self.ignore_label)

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        x, t = inputs
        x = xp.ascontiguousarray(x)  # the flat label indices assume C order
        mask = t != self.ignore_label
        t_safe = xp.where(mask, t, 0)  # ignored entries read class 0 and get weight 0
        index = _label_index(xp, t_safe, x.shape[1])
        y = x - x.max(axis=1, keepdims=True)
        picked = y.reshape(-1)[index].reshape(t.shape)
        xp.exp(y, out=y)
        total = y.sum(axis=1, keepdims=True)
        loss = xp.log(total).reshape(t.shape)
        loss -= picked
        weight = mask.astype(x.dtype)
        if self.class_weight is not None:
            weight *= self.class_weight.astype(x.dtype, copy=False)[t_safe]
        loss *= weight
        if self.cache_score:
            y /= total
            self._softmax = y
        self._index, self._weight = index, weight
        if self.reduce == 'no':
            return loss,
        count = xp.maximum(xp.count_nonzero(mask), 1) if self.normalize else max(x.shape[0], 1)
        self._coeff = xp.asarray(1.0 / count, dtype=x.dtype)
        # float16 losses are summed in float32 so a large batch does not overflow.
        total_loss = loss.sum(dtype=numpy.promote_types(x.dtype, numpy.float32))
        return force_array(total_loss * self._coeff, x.dtype),

    def backward(self, indexes, grad_outputs):
        x = self.inputs[0]
        gy, = grad_outputs
        weight = self._weight
        if self.reduce == 'mean':
            weight = weight * self._coeff
        expanded = weight.shape[:1] + (1,) + weight.shape[1:]
        xp = backend.get_array_module(weight)
        if config.enable_backprop:
            onehot = xp.zeros(x.shape, x.dtype)
            onehot.reshape(-1)[self._index] = 1
            gx = (softmax(x, axis=1) - onehot) * reshape(gy * weight, expanded)
            return gx, None
        scale = weight * gy.data
        gx = self._softmax if self.cache_score else _softmax_array(
            xp, xp.ascontiguousarray(x.data))
        gx = gx * scale.reshape(expanded)
        flat = gx.reshape(-1)  # a view: gx is C-contiguous
        flat[self._index] -= scale.reshape(-1)
        return gx, None


def _soft_target_loss(x, t, class_weight, reduce, soft_target_loss):
    """The loss against a float array of class probabilities ``t`` of the shape of ``x``."""
    t = t.data if isinstance(t, Variable) else t  # a constant: no gradient flows into t
    xp = backend.get_array_module(t)
    if x.dtype.kind != 'f' or t.dtype != x.dtype:
        raise TypeError('softmax_cross_entropy: soft targets t must have the float dtype of x, '
                        'got x {} and t {}'.format(x.dtype, t.dtype))
    if x.ndim < 2:
        raise ValueError('softmax_cross_entropy: x must have shape (N, C) or (N, C, d1, ...), '
                         'got {}'.format(x.shape))
    if class_weight is not None:
        raise ValueError('softmax_cross_entropy: class_weight applies to integer labels only, '
                         'not to soft targets')
    log_y = log_softmax(x, axis=1)
    if soft_target_loss == 'kl-divergence':
        log_t = xp.log(t + t.dtype.type(_SOFT_TARGET_EPS))
        loss = -_sum(t * (log_y - log_t), axis=1)
    else:
        loss = -_sum(t * log_y, axis=1)
    if reduce == 'no':
        return loss
    # Chainer averages over every sample and position: N * d1 * ... entries.
    count = max(x.size // x.shape[1], 1)
    return _sum(loss) * x.dtype.type(1.0 / count)


def softmax_cross_entropy(x, t, normalize=True, cache_score=True, class_weight=None,
                          ignore_label=-1, reduce='mean', enable_double_backprop=False,
                          soft_target_loss='cross-entropy'):
    """Cross entropy between ``softmax(x)`` along axis 1 and the class labels ``t``.

    Args:
        x: float scores (pre-softmax) of shape (N, C), or (N, C, d1, ...) for a softmax
            replicated over the trailing axes.
        t: integer class ids of shape (N,) or (N, d1, ...); entries equal to ``ignore_label``
            add no loss. A float ``t`` of the shape and dtype of ``x`` holds soft targets
            (a probability distribution over axis 1 per entry): the loss of an entry is then
            ``-sum(t * log_softmax(x), axis=1)``, or the KL divergence
            ``sum(t * (log(t + 1e-7) - log_softmax(x)), axis=1)``, and ``reduce='mean'``
            averages over all N * d1 * ... entries (``normalize`` and ``ignore_label`` do not
            apply).
        normalize (bool): with ``reduce='mean'``, divide by the number of entries not ignored
            (True) or by the batch size N (False).
        cache_score (bool): keep the softmax from the forward for the backward (faster, more
            memory); otherwise it is computed again.
        class_weight (array or None): a float array of shape (C,); each entry's loss is
            multiplied by the weight of its label.
        ignore_label (int): the label of entries to ignore.
        reduce (str): 'mean' for a scalar, 'no' for per-entry losses of t's shape (0 where
            ignored).
        enable_double_backprop (bool): accepted for Chainer compatibility; the gradient is
            differentiable whenever double backprop is asked for.
        soft_target_loss (str): 'cross-entropy' or 'kl-divergence', the loss used with soft
            targets.
    Returns:
        A Variable of x's dtype: a scalar, or of t's shape with ``reduce='no'``.
    """
    if reduce not in _REDUCE:
        raise ValueError("softmax_cross_entropy: reduce must be 'mean' or 'no', got {!r}"
                         .format(reduce))
    if class_weight is not None and not _is_array(class_weight):
        raise TypeError('softmax_cross_entropy: class_weight must be a numpy or cupy array, got '
                        '{}'.format(_type_name(class_weight)))
    if soft_target_loss not in ('cross-entropy', 'kl-divergence'):
        raise ValueError("softmax_cross_entropy: soft_target_loss must be 'cross-entropy' or "
                         "'kl-divergence', got {!r}".format(soft_target_loss))
    if t.dtype.kind == 'f' and t.shape == x.shape:
        return _soft_target_loss(x, t, class_weight, reduce, soft_target_loss)
    node = SoftmaxCrossEntropy(normalize, cache_score, class_weight, ignore_label, reduce)
    return node.apply((x, t))[0]
