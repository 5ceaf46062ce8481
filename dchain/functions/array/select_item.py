"""select_item: one element per row, ``x[i, t[i]]``."""
from dchain import backend
from dchain.functions.array.get_item import get_item
from dchain.variable import Variable


def select_item(x, t):
    """Pick ``x[i, t[i]]`` for every row ``i`` (Chainer's ``F.select_item``).

    Args:
        x: a Variable or array of shape (B, K).
        t: an integer array (or Variable) of shape (B,) with values in [0, K).
    Returns:
        A Variable of shape (B,) and x's dtype; the gradient goes to the picked elements.
    """
    t = t.data if isinstance(t, Variable) else t
    if x.ndim != 2 or getattr(t, 'ndim', None) != 1 or t.shape[0] != x.shape[0]:
        raise ValueError('select_item: x must have shape (B, K) and t shape (B,), got {} and {}'
                         .format(x.shape, getattr(t, 'shape', type(t).__name__)))
    if t.dtype.kind not in 'iu':
        raise TypeError('select_item: t must be an integer array, got {}'.format(t.dtype))
    xp = backend.get_array_module(t)
    if t.size and (int(t.min()) < 0 or int(t.max()) >= x.shape[1]):
        raise ValueError('select_item: t must be in [0, {}), got values from {} to {}'.format(
            x.shape[1], int(t.min()), int(t.max())))
    return get_item(x, (xp.arange(x.shape[0]), t))
