"""MomentumSGD: SGD with classical momentum, ``v = momentum * v - lr * grad; param += v``."""
from dchain import backend
from dchain import optimizer

_default_hyperparam = optimizer.Hyperparameter()
_default_hyperparam.lr = 0.01
_default_hyperparam.momentum = 0.9


class MomentumSGDRule(optimizer.UpdateRule):
    """The update rule of MomentumSGD; its state is the velocity ``v``.

    Args:
        parent_hyperparam (Hyperparameter): the defaults (MomentumSGD's when None).
        lr (float): the learning rate (None: the parent's).
        momentum (float): the decay rate of the velocity (None: the parent's).
    """

    work_arrays = 1

    def __init__(self, parent_hyperparam=None, lr=None, momentum=None):
        super().__init__(parent_hyperparam or _default_hyperparam)
        self.set_hyperparams(lr=lr, momentum=momentum)

    def init_state(self, param):
        self.state['v'] = param.xp.zeros_like(param.data)

    def step_coefficients(self):
        hp = self.hyperparam
        return hp.lr, hp.momentum

    def update_arrays(self, coefficients, data, grad, state, work):
        xp = backend.get_array_module(data)
        lr, momentum = coefficients
        v = state['v']
        scaled = work[0]
        v *= momentum
        xp.multiply(grad, lr, out=scaled)
        v -= scaled
        data += v


class MomentumSGD(optimizer.GradientMethod):
    """Momentum SGD.

    Args:
        lr (float): the learning rate (0.01).
        momentum (float): the decay rate of the velocity (0.9).
    """

    lr = optimizer.HyperparameterProxy('lr')
    momentum = optimizer.HyperparameterProxy('momentum')

    def __init__(self, lr=_default_hyperparam.lr, momentum=_default_hyperparam.momentum):
        super().__init__()
        optimizer.check_real('MomentumSGD', 'lr', lr)
        optimizer.check_real('MomentumSGD', 'momentum', momentum)
        self.hyperparam.lr = lr
        self.hyperparam.momentum = momentum

    def create_update_rule(self):
        return MomentumSGDRule(self.hyperparam)
