"""WeightDecay: L2 regularization applied to the gradients, ``grad += rate * param``."""
from dchain.optimizer import check_real


class WeightDecay:
    """Adds ``rate * param`` to every gradient before the update (L2 regularization).

    Args:
        rate (float): the coefficient of the weight decay.
    Attributes:
        rate (float): the coefficient.
        timing (str): 'pre' (before the update) or 'post'.
    """

    name = 'WeightDecay'
    call_for_each_param = True
    timing = 'pre'

    def __init__(self, rate):
        check_real('WeightDecay', 'rate', rate)
        self.rate = rate

    def __call__(self, rule, param):
        data, grad = param.data, param.grad
        if data is None or grad is None:
            return
        grad += self.rate * data
