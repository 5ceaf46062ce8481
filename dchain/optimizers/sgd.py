"""SGD: vanilla stochastic gradient descent, ``param -= lr * grad``."""
from dchain import backend
from dchain import optimizer

_default_hyperparam = optimizer.Hyperparameter()
_default_hyperparam.lr = 0.01


class SGDRule(optimizer.UpdateRule):
    """The update rule of SGD.

    Args:
        parent_hyperparam (Hyperparameter): the defaults (SGD's when None).
        lr (float): the learning rate (None: the parent's).
    """

    work_arrays = 1

    def __init__(self, parent_hyperparam=None, lr=None):
        super().__init__(parent_hyperparam or _default_hyperparam)
        self.set_hyperparams(lr=lr)

    def step_coefficients(self):
        return self.hyperparam.lr,

    def update_arrays(self, coefficients, data, grad, state, work):
        xp = backend.get_array_module(data)
        lr, = coefficients
        step = work[0]
        xp.multiply(grad, lr, out=step)
        data -= step


class SGD(optimizer.GradientMethod):
    """Vanilla stochastic gradient descent.

    Args:
        lr (float): the learning rate (0.01).
    """

    lr = optimizer.HyperparameterProxy('lr')

    def __init__(self, lr=_default_hyperparam.lr):
        super().__init__()
        optimizer.check_real('SGD', 'lr', lr)
        self.hyperparam.lr = lr

    def create_update_rule(self):
        return SGDRule(self.hyperparam)
