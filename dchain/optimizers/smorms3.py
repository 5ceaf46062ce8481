"""SMORMS3 (Simon Funk, 2015): RMSprop with a per-element memory of how noisy the gradient is."""
from dchain import backend
from dchain import optimizer

_default_hyperparam = optimizer.Hyperparameter()
_default_hyperparam.lr = 0.001
_default_hyperparam.eps = 1e-16


class SMORMS3Rule(optimizer.UpdateRule):
    """The update rule of SMORMS3; its state is ``mem`` (ones at first), ``g`` and ``g2``.

    ``r = 1 / (mem + 1)``, ``g = (1 - r) g + r grad``, ``g2 = (1 - r) g2 + r grad**2``,
    ``x = g**2 / (g2 + eps)``, ``param -= grad * min(x, lr) / (sqrt(g2) + eps)``, then
    ``mem = 1 + mem (1 - x)``.

    Args:
        parent_hyperparam (Hyperparameter): the defaults (SMORMS3's when None).
        lr, eps: as in SMORMS3 (None: the parent's).
    """

    work_arrays = 3

    def __init__(self, parent_hyperparam=None, lr=None, eps=None):
        super().__init__(parent_hyperparam or _default_hyperparam)
        self.set_hyperparams(lr=lr, eps=eps)

    def init_state(self, param):
        xp = param.xp
        self.state['mem'] = xp.ones_like(param.data)
        self.state['g'] = xp.zeros_like(param.data)
        self.state['g2'] = xp.zeros_like(param.data)

    def step_coefficients(self):
        hp = self.hyperparam
        return hp.lr, hp.eps

    def update_arrays(self, coefficients, data, grad, state, work):
        xp = backend.get_array_module(data)
        lr, eps = coefficients
        mem, g, g2 = state['mem'], state['g'], state['g2']
        rate, scratch, ratio = work
        xp.add(mem, 1, out=rate)
        xp.reciprocal(rate, out=rate)
        # g += r (grad - g) and g2 += r (grad**2 - g2): the moving averages with rate r.
        xp.subtract(grad, g, out=scratch)
        scratch *= rate
        g += scratch
        xp.multiply(grad, grad, out=scratch)
        scratch -= g2
        scratch *= rate
        g2 += scratch
        xp.add(g2, eps, out=scratch)
        xp.multiply(g, g, out=ratio)
        ratio /= scratch
        xp.sqrt(g2, out=scratch)
        scratch += eps
        xp.minimum(ratio, lr, out=rate)
        rate *= grad
        rate /= scratch
        data -= rate
        xp.subtract(1, ratio, out=ratio)
        mem *= ratio
        mem += 1


class SMORMS3(optimizer.GradientMethod):
    """SMORMS3, Chainer's ``SMORMS3``.

    Args:
        lr (float): the largest step size (0.001).
        eps (float): added to the denominators for stability (1e-16).
    """

    lr = optimizer.HyperparameterProxy('lr')
    eps = optimizer.HyperparameterProxy('eps')

    def __init__(self, lr=_default_hyperparam.lr, eps=_default_hyperparam.eps):
        super().__init__()
        for name, value in (('lr', lr), ('eps', eps)):
            optimizer.check_real('SMORMS3', name, value)
            setattr(self.hyperparam, name, value)

    def create_update_rule(self):
        return SMORMS3Rule(self.hyperparam)
