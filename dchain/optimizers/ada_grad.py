"""AdaGrad: ``h += grad**2; param -= lr * grad / (sqrt(h) + eps)``."""
from dchain import backend
from dchain import optimizer

_default_hyperparam = optimizer.Hyperparameter()
_default_hyperparam.lr = 0.001
_default_hyperparam.eps = 1e-8


class AdaGradRule(optimizer.UpdateRule):
    """The update rule of AdaGrad; its state is the sum of squared gradients ``h``.

    Args:
        parent_hyperparam (Hyperparameter): the defaults (AdaGrad's when None).
        lr (float): the learning rate (None: the parent's).
        eps (float): added to the denominator for stability (None: the parent's).
    """

    work_arrays = 1

    def __init__(self, parent_hyperparam=None, lr=None, eps=None):
        super().__init__(parent_hyperparam or _default_hyperparam)
        self.set_hyperparams(lr=lr, eps=eps)

    def init_state(self, param):
        self.state['h'] = param.xp.zeros_like(param.data)

    def step_coefficients(self):
        hp = self.hyperparam
        return hp.lr, hp.eps

    def update_arrays(self, coefficients, data, grad, state, work):
        xp = backend.get_array_module(data)
        lr, eps = coefficients
        h = state['h']
        scratch = work[0]
        xp.multiply(grad, grad, out=scratch)
        h += scratch
        xp.sqrt(h, out=scratch)
        scratch += eps
        xp.divide(grad, scratch, out=scratch)
        scratch *= lr
        data -= scratch


class AdaGrad(optimizer.GradientMethod):
    """AdaGrad (Duchi et al., 2011).

    Args:
        lr (float): the learning rate (0.001).
        eps (float): added to the denominator for stability (1e-8).
    """

    lr = optimizer.HyperparameterProxy('lr')
    eps = optimizer.HyperparameterProxy('eps')

    def __init__(self, lr=_default_hyperparam.lr, eps=_default_hyperparam.eps):
        super().__init__()
        optimizer.check_real('AdaGrad', 'lr', lr)
        optimizer.check_real('AdaGrad', 'eps', eps)
        self.hyperparam.lr = lr
        self.hyperparam.eps = eps

    def create_update_rule(self):
        return AdaGradRule(self.hyperparam)
