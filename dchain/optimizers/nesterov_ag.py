"""NesterovAG: Nesterov's accelerated gradient, in the velocity form of Bengio et al. (2012)."""
from dchain import backend
from dchain import optimizer
from dchain.optimizers.momentum_sgd import MomentumMethod, MomentumSGDRule

_default_hyperparam = optimizer.Hyperparameter()
_default_hyperparam.lr = 0.01
_default_hyperparam.momentum = 0.9


class NesterovAGRule(MomentumSGDRule):
    """The update rule of NesterovAG; its state is the velocity ``v``.

    ``v = momentum * v - lr * grad``, then
    ``param += momentum**2 * v - (1 + momentum) * lr * grad``.

    Args:
        parent_hyperparam (Hyperparameter): the defaults (NesterovAG's when None).
        lr (float): the learning rate (None: the parent's).
        momentum (float): the decay rate of the velocity (None: the parent's).
    """

    def __init__(self, parent_hyperparam=None, lr=None, momentum=None):
        super().__init__(parent_hyperparam or _default_hyperparam, lr, momentum)

    def update_arrays(self, coefficients, data, grad, state, work):
        xp = backend.get_array_module(data)
        lr, momentum = coefficients
        v = state['v']
        scratch = work[0]
        v *= momentum
        xp.multiply(grad, lr, out=scratch)
        v -= scratch
        xp.multiply(v, momentum * momentum, out=scratch)
        data += scratch
        xp.multiply(grad, (1 + momentum) * lr, out=scratch)
        data -= scratch


class NesterovAG(MomentumMethod):
    """Nesterov's accelerated gradient.

    Args:
        lr (float): the learning rate (0.01).
        momentum (float): the decay rate of the velocity (0.9).
    """

    rule_class = NesterovAGRule
