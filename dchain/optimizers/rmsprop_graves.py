"""RMSpropGraves: Alex Graves's RMSprop with momentum (Generating Sequences With RNNs, 2013)."""
from dchain import backend
from dchain import optimizer

_default_hyperparam = optimizer.Hyperparameter()
_default_hyperparam.lr = 1e-4
_default_hyperparam.alpha = 0.95
_default_hyperparam.momentum = 0.9
_default_hyperparam.eps = 1e-4


class RMSpropGravesRule(optimizer.UpdateRule):
    """The update rule of RMSpropGraves; its state is ``n``, ``g`` and ``delta``.

    ``n = alpha * n + (1 - alpha) * grad**2``, ``g = alpha * g + (1 - alpha) * grad``,
    ``delta = momentum * delta - lr * grad / sqrt(n - g**2 + eps)``, ``param += delta``.

    Args:
        parent_hyperparam (Hyperparameter): the defaults (RMSpropGraves's when None).
        lr, alpha, momentum, eps: as in RMSpropGraves (None: the parent's).
    """

    work_arrays = 2

    def __init__(self, parent_hyperparam=None, lr=None, alpha=None, momentum=None, eps=None):
        super().__init__(parent_hyperparam or _default_hyperparam)
        self.set_hyperparams(lr=lr, alpha=alpha, momentum=momentum, eps=eps)

    def init_state(self, param):
        xp = param.xp
        for name in ('n', 'g', 'delta'):
            self.state[name] = xp.zeros_like(param.data)

    def step_coefficients(self):
        hp = self.hyperparam
        return hp.lr, hp.alpha, 1 - hp.alpha, hp.momentum, hp.eps

    def update_arrays(self, coefficients, data, grad, state, work):
        xp = backend.get_array_module(data)
        lr, alpha, one_minus_alpha, momentum, eps = coefficients
        n, g, delta = state['n'], state['g'], state['delta']
        scratch, denominator = work
        n *= alpha
        xp.multiply(grad, grad, out=scratch)
        scratch *= one_minus_alpha
        n += scratch
        g *= alpha
        xp.multiply(grad, one_minus_alpha, out=scratch)
        g += scratch
        xp.multiply(g, g, out=denominator)
        xp.subtract(n, denominator, out=denominator)
        denominator += eps
        xp.sqrt(denominator, out=denominator)
        xp.divide(grad, denominator, out=scratch)
        scratch *= lr
        delta *= momentum
        delta -= scratch
        data += delta


class RMSpropGraves(optimizer.GradientMethod):
    """RMSprop with momentum as in Graves (2013), Chainer's ``RMSpropGraves``.

    Args:
        lr (float): the learning rate (1e-4).
        alpha (float): the decay rate of the first and second moments (0.95).
        momentum (float): the decay rate of the step ``delta`` (0.9).
        eps (float): added inside the square root for stability (1e-4).
    """

    lr = optimizer.HyperparameterProxy('lr')
    alpha = optimizer.HyperparameterProxy('alpha')
    momentum = optimizer.HyperparameterProxy('momentum')
    eps = optimizer.HyperparameterProxy('eps')

    def __init__(self, lr=_default_hyperparam.lr, alpha=_default_hyperparam.alpha,
                 momentum=_default_hyperparam.momentum, eps=_default_hyperparam.eps):
        super().__init__()
        for name, value in (('lr', lr), ('alpha', alpha), ('momentum', momentum), ('eps', eps)):
            optimizer.check_real('RMSpropGraves', name, value)
            setattr(self.hyperparam, name, value)

    def create_update_rule(self):
        return RMSpropGravesRule(self.hyperparam)
