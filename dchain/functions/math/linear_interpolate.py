"""linear_interpolate: ``p x + (1 - p) y`` elementwise."""
from dchain.variable import as_variable


def linear_interpolate(p, x, y):
    """Elementwise linear interpolation ``p * x + (1 - p) * y`` (Chainer's
    ``F.linear_interpolate``).

    Args:
        p, x, y: float Variables or arrays of one shape and dtype.
    Returns:
        A Variable of that shape and dtype; differentiable in all three.
    """
    p, x, y = as_variable(p), as_variable(x), as_variable(y)
    if not p.shape == x.shape == y.shape:
        raise ValueError('linear_interpolate: p, x and y must have one shape, got {}, {} and {}'
                         .format(p.shape, x.shape, y.shape))
    return y + p * (x - y)
