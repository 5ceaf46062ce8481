"""RMSprop (Tieleman and Hinton, 2012): the gradient divided by a running RMS of gradients."""
from dchain import backend
from dchain import optimizer

_default_hyperparam = optimizer.Hyperparameter()
_default_hyperparam.lr = 0.01
_default_hyperparam.alpha = 0.99
_default_hyperparam.eps = 1e-8
_default_hyperparam.eps_inside_sqrt = False


class RMSpropRule(optimizer.UpdateRule):
    """The update rule of RMSprop; its state is the mean square ``ms``.

    ``ms = alpha * ms + (1 - alpha) * grad**2``, then ``param -= lr * grad / (sqrt(ms) + eps)``
    (``sqrt(ms + eps)`` with ``eps_inside_sqrt``).

    Args:
        parent_hyperparam (Hyperparameter): the defaults (RMSprop's when None).
        lr, alpha, eps, eps_inside_sqrt: as in RMSprop (None: the parent's).
    """

    work_arrays = 1

    def __init__(self, parent_hyperparam=None, lr=None, alpha=None, eps=None,
                 eps_inside_sqrt=None):
        super().__init__(parent_hyperparam or _default_hyperparam)
        self.set_hyperparams(lr=lr, alpha=alpha, eps=eps)
        if eps_inside_sqrt is not None:
            self.hyperparam.eps_inside_sqrt = bool(eps_inside_sqrt)

    def init_state(self, param):
        self.state['ms'] = param.xp.zeros_like(param.data)

    def step_coefficients(self):
        hp = self.hyperparam
        return hp.lr, hp.alpha, 1 - hp.alpha, hp.eps, hp.eps_inside_sqrt

    def update_arrays(self, coefficients, data, grad, state, work):
        xp = backend.get_array_module(data)
        lr, alpha, one_minus_alpha, eps, eps_inside_sqrt = coefficients
        ms = state['ms']
        scratch = work[0]
        ms *= alpha
        xp.multiply(grad, grad, out=scratch)
        scratch *= one_minus_alpha
        ms += scratch
        if eps_inside_sqrt:
            xp.add(ms, eps, out=scratch)
            xp.sqrt(scratch, out=scratch)
        else:
            xp.sqrt(ms, out=scratch)
            scratch += eps
        xp.divide(grad, scratch, out=scratch)
        scratch *= lr
        data -= scratch


class RMSprop(optimizer.GradientMethod):
    """RMSprop.

    Args:
        lr (float): the learning rate (0.01).
        alpha (float): the decay rate of the mean square (0.99).
        eps (float): added to the denominator for stability (1e-8).
        eps_inside_sqrt (bool): divide by ``sqrt(ms + eps)`` instead of ``sqrt(ms) + eps``
            (False).
    """

    lr = optimizer.HyperparameterProxy('lr')
    alpha = optimizer.HyperparameterProxy('alpha')
    eps = optimizer.HyperparameterProxy('eps')
    eps_inside_sqrt = optimizer.HyperparameterProxy('eps_inside_sqrt')

    def __init__(self, lr=_default_hyperparam.lr, alpha=_default_hyperparam.alpha,
                 eps=_default_hyperparam.eps, eps_inside_sqrt=False):
        super().__init__()
        for name, value in (('lr', lr), ('alpha', alpha), ('eps', eps)):
            optimizer.check_real('RMSprop', name, value)
        self.hyperparam.lr = lr
        self.hyperparam.alpha = alpha
        self.hyperparam.eps = eps
        self.hyperparam.eps_inside_sqrt = bool(eps_inside_sqrt)

    def create_update_rule(self):
        return RMSpropRule(self.hyperparam)
