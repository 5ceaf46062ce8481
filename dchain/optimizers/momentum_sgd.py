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


class MomentumMethod(optimizer.GradientMethod):
    """What the optimizers with a velocity share (MomentumSGD, NesterovAG,
    CorrectedMomentumSGD): the hyperparameters ``lr`` and ``momentum``, checked, and an update
    rule of the class ``rule_class`` per parameter."""

    rule_class = MomentumSGDRule
    lr = optimizer.HyperparameterProxy('lr')
    momentum = optimizer.HyperparameterProxy('momentum')

    def __init__(self, lr=_default_hyperparam.lr, momentum=_default_hyperparam.momentum):
        super().__init__()
        for name, value in (('lr', lr), ('momentum', momentum)):
            optimizer.check_real(type(self).__name__, name, value)
            setattr(self.hyperparam, name, value)

    def create_update_rule(self):
        return self.rule_class(self.hyperparam)


class MomentumSGD(MomentumMethod):
    """Momentum SGD.

    Args:
        lr (float): the learning rate (0.01).
        momentum (float): the decay rate of the velocity (0.9).
    """
