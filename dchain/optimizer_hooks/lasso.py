"""Lasso: L1 regularization applied to the gradients, ``grad += rate * sign(param)``."""
from dchain import backend
from dchain.optimizer import check_real


class Lasso:
    """Adds ``rate * sign(param)`` to every gradient before the update (L1 regularization).

    Args:
        rate (float): the coefficient of the regularization.
    Attributes:
        rate (float): the coefficient.
        timing (str): 'pre' (before the update) or 'post'.
    """

    name = 'Lasso'
    call_for_each_param = True
    timing = 'pre'

    def __init__(self, rate):
        check_real('Lasso', 'rate', rate)
        self.rate = rate

    def __call__(self, rule, param):
        data, grad = param.data, param.grad
        if data is None or grad is None:
            return
        xp = backend.get_array_module(data)
        sign = xp.sign(data)
        sign *= self.rate
        grad += sign
