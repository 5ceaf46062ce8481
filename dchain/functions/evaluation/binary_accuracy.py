"""binary_accuracy: the fraction of correct yes/no predictions from scores."""
from dchain import backend
from dchain.variable import Variable, as_array


def binary_accuracy(y, t):
    """The accuracy of binary predictions ``y >= 0`` against labels ``t`` (not differentiable).

    Args:
        y: float scores (logits) of any shape; the prediction is 1 where ``y >= 0``, else 0.
        t: integer labels of the shape of ``y``: 1 (positive), 0 (negative) or -1 (ignored).
    Returns:
        A scalar Variable of y's dtype that needs no gradient: the correct predictions divided
        by the number of labels that are not -1 (0 when every label is -1).
    """
    y, t = as_array(y), as_array(t)
    if y.dtype.kind != 'f':
        raise TypeError('binary_accuracy: y must be a float array of scores, got {}'.format(
            y.dtype))
    if t.dtype.kind != 'i':
        raise TypeError('binary_accuracy: t must be a signed integer array of labels (1, 0 or '
                        '-1), got {}'.format(t.dtype))
    if t.shape != y.shape:
        raise ValueError('binary_accuracy: y and t must have the same shape, got {} and {}'
                         .format(y.shape, t.shape))
    xp = backend.get_array_module(y, t)
    # A label of -1 equals neither prediction, so ignored entries are never counted correct.
    correct = ((y >= 0) == t).sum()
    count = xp.maximum((t != -1).sum(), 1)
    return Variable(xp.asarray(correct / count, dtype=y.dtype), requires_grad=False)
