"""accuracy: the fraction of samples whose highest score is at the true class."""
from dchain import backend
from dchain.variable import Variable, as_array


def accuracy(y, t, ignore_label=None):
    """The classification accuracy of scores ``y`` against labels ``t`` (not differentiable).

    Args:
        y: float scores of shape (N, C) or (N, C, d1, ...); the prediction is the argmax
            along axis 1.
        t: integer labels of shape (N,) or (N, d1, ...).
        ignore_label (int or None): entries of t with this label are left out of the count;
            when every entry is ignored the accuracy is 0.
    Returns:
        A scalar Variable of y's dtype that needs no gradient.
    """
    y, t = as_array(y), as_array(t)
    if y.dtype.kind != 'f':
        raise TypeError('accuracy: y must be a float array of scores, got {}'.format(y.dtype))
    if t.dtype.kind not in 'iu':
        raise TypeError('accuracy: t must be an integer array of class labels, got {}'.format(
            t.dtype))
    if y.ndim < 2 or t.shape != y.shape[:1] + y.shape[2:]:
        raise ValueError('accuracy: y must have shape (N, C, ...) and t shape (N, ...) without '
                         'the class axis, got y of shape {} and t of shape {}'.format(
                             y.shape, t.shape))
    xp = backend.get_array_module(y, t)
    correct = y.argmax(axis=1) == t
    if ignore_label is None:
        value = correct.mean() if t.size else 0.0
    else:
        mask = t != ignore_label
        correct &= mask
        # Divided on the device: no wait for the count on a GPU.
        value = correct.sum() / xp.maximum(mask.sum(), 1)
    return Variable(xp.asarray(value, dtype=y.dtype), requires_grad=False)
