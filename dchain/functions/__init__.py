"""Differentiable functions (``import dchain.functions as F``).

Each works on NumPy and CuPy arrays or Variables and returns Variables.
"""
from dchain.functions.array.broadcast import broadcast, broadcast_to, sum_to  # noqa: F401
from dchain.functions.array.get_item import get_item  # noqa: F401
from dchain.functions.array.reshape import expand_dims, flatten, reshape, squeeze  # noqa: F401
from dchain.functions.array.transpose import swapaxes, transpose  # noqa: F401
from dchain.functions.math.basic_math import absolute, add, div, mul, neg, sub  # noqa: F401
from dchain.functions.math.exponential import exp, log, rsqrt, sqrt, square  # noqa: F401
from dchain.functions.math.matmul import batch_matmul, matmul  # noqa: F401
from dchain.functions.math.sum import mean, sum  # noqa: F401,A004
from dchain.functions.connection.linear import linear  # noqa: F401
