"""GradientHardClipping: clip every gradient element into [lower_bound, upper_bound]."""
from dchain import backend
from dchain.optimizer import check_real


class GradientHardClipping:
    """Clips every element of every gradient into ``[lower_bound, upper_bound]``.

    Args:
        lower_bound (float): the smallest value a gradient element keeps.
        upper_bound (float): the largest value a gradient element keeps.
    Attributes:
        lower_bound, upper_bound (float): the bounds.
        timing (str): 'pre' (before the update) or 'post'.
    """

    name = 'GradientHardClipping'
    call_for_each_param = True
    timing = 'pre'

    def __init__(self, lower_bound, upper_bound):
        check_real('GradientHardClipping', 'lower_bound', lower_bound)
        check_real('GradientHardClipping', 'upper_bound', upper_bound)
        if lower_bound > upper_bound:
            raise ValueError('GradientHardClipping: lower_bound must not exceed upper_bound, got '
                             '{} and {}'.format(lower_bound, upper_bound))
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def __call__(self, rule, param):
        grad = param.grad
        if grad is None:
            return
        xp = backend.get_array_module(grad)
        xp.clip(grad, self.lower_bound, self.upper_bound, out=grad)
