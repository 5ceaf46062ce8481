"""AdaDelta (Zeiler, 2012): a step size from running averages of squared gradients and steps."""
from dchain import backend
from dchain import optimizer

_default_hyperparam = optimizer.Hyperparameter()
_default_hyperparam.rho = 0.95
_default_hyperparam.eps = 1e-6


class AdaDeltaRule(optimizer.UpdateRule):
    """The update rule of AdaDelta; its state is ``msg`` (mean squared gradient) and ``msdx``
    (mean squared step).

    ``msg = rho * msg + (1 - rho) * grad**2``, ``dx = sqrt((msdx + eps) / (msg + eps)) * grad``,
    ``msdx = rho * msdx + (1 - rho) * dx**2``, ``param -= dx``.

    Args:
        parent_hyperparam (Hyperparameter): the defaults (AdaDelta's when None).
        rho (float): the decay rate of both averages (None: the parent's).
        eps (float): added for stability (None: the parent's).
    """

    work_arrays = 2

    def __init__(self, parent_hyperparam=None, rho=None, eps=None):
        super().__init__(parent_hyperparam or _default_hyperparam)
        self.set_hyperparams(rho=rho, eps=eps)

    def init_state(self, param):
        xp = param.xp
        self.state['msg'] = xp.zeros_like(param.data)
        self.state['msdx'] = xp.zeros_like(param.data)

    def step_coefficients(self):
        hp = self.hyperparam
        return hp.rho, 1 - hp.rho, hp.eps

    def update_arrays(self, coefficients, data, grad, state, work):
        xp = backend.get_array_module(data)
        rho, one_minus_rho, eps = coefficients
        msg, msdx = state['msg'], state['msdx']
        dx, scratch = work
        msg *= rho
        xp.multiply(grad, grad, out=scratch)
        scratch *= one_minus_rho
        msg += scratch
        xp.add(msdx, eps, out=dx)
        xp.add(msg, eps, out=scratch)
        xp.divide(dx, scratch, out=dx)
        xp.sqrt(dx, out=dx)
        dx *= grad
        msdx *= rho
        xp.multiply(dx, dx, out=scratch)
        scratch *= one_minus_rho
        msdx += scratch
        data -= dx


class AdaDelta(optimizer.GradientMethod):
    """Zeiler's AdaDelta.

    Args:
        rho (float): the decay rate of the running averages (0.95).
        eps (float): added for stability (1e-6).
    """

    rho = optimizer.HyperparameterProxy('rho')
    eps = optimizer.HyperparameterProxy('eps')

    def __init__(self, rho=_default_hyperparam.rho, eps=_default_hyperparam.eps):
        super().__init__()
        optimizer.check_real('AdaDelta', 'rho', rho)
        optimizer.check_real('AdaDelta', 'eps', eps)
        self.hyperparam.rho = rho
        self.hyperparam.eps = eps

    def create_update_rule(self):
        return AdaDeltaRule(self.hyperparam)
