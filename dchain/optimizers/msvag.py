"""M-SVAG (Balles and Hennig, 2018): momentum SGD with a variance-adapted step per element."""
import numpy

from dchain import backend
from dchain import optimizer

_default_hyperparam = optimizer.Hyperparameter()
_default_hyperparam.lr = 0.1
_default_hyperparam.beta = 0.9
_default_hyperparam.eta = 1.0
_default_hyperparam.weight_decay_rate = 0


class MSVAGRule(optimizer.UpdateRule):
    """The update rule of MSVAG; its state is the moving averages ``m`` and ``v``.

    With ``b = beta**t`` at step ``t``:
    ``rho = min((1 - beta)**2 (1 - b**2) / ((1 - b)**2 (1 - beta**2)), 0.9999)``,
    ``m += (1 - beta) (grad - m)``, ``v += (1 - beta) (grad**2 - v)``,
    ``mt = m / (1 - b)``, ``vt = v / (1 - b)``, ``s = (vt - mt**2) / (1 - rho)``,
    ``factor = clip(mt**2 / (mt**2 + rho s), 0, 1)`` (0 where undefined), then
    ``param -= eta * (lr * mt * factor + weight_decay_rate * param)``.

    Args:
        parent_hyperparam (Hyperparameter): the defaults (MSVAG's when None).
        lr, beta, eta, weight_decay_rate: as in MSVAG (None: the parent's).
    """

    work_arrays = 3

    def __init__(self, parent_hyperparam=None, lr=None, beta=None, eta=None,
                 weight_decay_rate=None):
        super().__init__(parent_hyperparam or _default_hyperparam)
        self.set_hyperparams(lr=lr, beta=beta, eta=eta, weight_decay_rate=weight_decay_rate)

    def init_state(self, param):
        xp = param.xp
        self.state['m'] = xp.zeros_like(param.data)
        self.state['v'] = xp.zeros_like(param.data)

    @property
    def beta_power(self):
        """``beta ** t`` at this rule's step ``t`` (1 before the first update)."""
        return self.hyperparam.beta ** self.t

    def step_coefficients(self):
        hp = self.hyperparam
        power = self.beta_power
        rho = ((1.0 - hp.beta) ** 2 * (1.0 - power ** 2)
               / ((1.0 - power) ** 2 * (1.0 - hp.beta ** 2)))
        return (hp.lr, 1 - hp.beta, 1 / (1 - power), min(rho, 0.9999), hp.eta,
                hp.eta * hp.weight_decay_rate)

    def update_arrays(self, coefficients, data, grad, state, work):
        xp = backend.get_array_module(data)
        lr, one_minus_beta, correction, rho, eta, decay = coefficients
        m, v = state['m'], state['v']
        mean, square, scratch = work
        xp.subtract(grad, m, out=scratch)
        scratch *= one_minus_beta
        m += scratch
        xp.multiply(grad, grad, out=scratch)
        scratch -= v
        scratch *= one_minus_beta
        v += scratch
        xp.multiply(m, correction, out=mean)
        xp.multiply(mean, mean, out=square)
        # rho * s, with s = (vt - mt**2) / (1 - rho) the variance estimate.
        xp.multiply(v, correction, out=scratch)
        scratch -= square
        scratch *= rho / (1 - rho)
        scratch += square
        with numpy.errstate(divide='ignore', invalid='ignore'):
            xp.divide(square, scratch, out=scratch)
        xp.clip(scratch, 0, 1, out=scratch)
        scratch[xp.isnan(scratch)] = 0
        scratch *= mean
        scratch *= eta * lr
        if decay:
            data *= 1 - decay
        data -= scratch


class MSVAG(optimizer.GradientMethod):
    """M-SVAG, momentum SGD with variance adaptation (Balles and Hennig, "Dissecting Adam",
    2018), Chainer's ``MSVAG``.

    Args:
        lr (float): the learning rate (0.1).
        beta (float): the decay rate of the moving averages (0.9).
        eta (float): a schedule multiplier of the whole step (1.0).
        weight_decay_rate (float): the decoupled weight decay (0).
    """

    lr = optimizer.HyperparameterProxy('lr')
    beta = optimizer.HyperparameterProxy('beta')
    eta = optimizer.HyperparameterProxy('eta')
    weight_decay_rate = optimizer.HyperparameterProxy('weight_decay_rate')

    def __init__(self, lr=_default_hyperparam.lr, beta=_default_hyperparam.beta,
                 eta=_default_hyperparam.eta,
                 weight_decay_rate=_default_hyperparam.weight_decay_rate):
        super().__init__()
        for name, value in (('lr', lr), ('beta', beta), ('eta', eta),
                            ('weight_decay_rate', weight_decay_rate)):
            optimizer.check_real('MSVAG', name, value)
            setattr(self.hyperparam, name, value)
        if not 0 <= beta < 1:
            raise ValueError('MSVAG: beta must be in [0, 1), got {}'.format(beta))

    def create_update_rule(self):
        return MSVAGRule(self.hyperparam)
