"""CorrectedMomentumSGD: momentum SGD whose velocity is kept without the learning rate."""
from dchain import backend
from dchain import optimizer
from dchain.optimizers.momentum_sgd import MomentumMethod, MomentumSGDRule

_default_hyperparam = optimizer.Hyperparameter()
_default_hyperparam.lr = 0.01
_default_hyperparam.momentum = 0.9


class CorrectedMomentumSGDRule(MomentumSGDRule):
    """The update rule of CorrectedMomentumSGD; its state is the velocity ``v``.

    ``v = momentum * v - grad``, ``param += lr * v``. Unlike MomentumSGD, a change of ``lr``
    during training (a schedule) applies to the whole accumulated velocity at once, which is
    the correction of Goyal et al. (2017) for large-batch training.

    Args:
        parent_hyperparam (Hyperparameter): the defaults (CorrectedMomentumSGD's when None).
        lr, momentum: as in CorrectedMomentumSGD (None: the parent's).
    """

    def __init__(self, parent_hyperparam=None, lr=None, momentum=None):
        super().__init__(parent_hyperparam or _default_hyperparam, lr, momentum)

    def update_arrays(self, coefficients, data, grad, state, work):
        xp = backend.get_array_module(data)
        lr, momentum = coefficients
        v = state['v']
        scratch = work[0]
        v *= momentum
        v -= grad
        xp.multiply(v, lr, out=scratch)
        data += scratch


class CorrectedMomentumSGD(MomentumMethod):
    """Momentum SGD with the learning rate applied outside the velocity (Chainer's
    ``CorrectedMomentumSGD``; Goyal et al., "Accurate, Large Minibatch SGD", 2017).

    Args:
        lr (float): the learning rate (0.01).
        momentum (float): the decay rate of the velocity (0.9).
    """

    rule_class = CorrectedMomentumSGDRule
