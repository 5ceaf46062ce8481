"""Adam (Kingma and Ba, 2015), with AdamW's decoupled weight decay, AMSGrad and AdaBound."""
import math

from dchain import backend
from dchain import optimizer

_default_hyperparam = optimizer.Hyperparameter()
_default_hyperparam.alpha = 0.001
_default_hyperparam.beta1 = 0.9
_default_hyperparam.beta2 = 0.999
_default_hyperparam.eps = 1e-8
_default_hyperparam.eta = 1.0
_default_hyperparam.weight_decay_rate = 0
_default_hyperparam.amsgrad = False
_default_hyperparam.adabound = False
_default_hyperparam.final_lr = 0.1
_default_hyperparam.gamma = 1e-3

_REALS = ('alpha', 'beta1', 'beta2', 'eps', 'eta', 'weight_decay_rate', 'final_lr', 'gamma')


def _check(owner, values, allow_none):
    for name in _REALS:
        value = values.get(name)
        if value is not None or not allow_none:
            optimizer.check_real(owner, name, value)
    for name in ('beta1', 'beta2'):
        value = values.get(name)
        if value is not None and not 0 <= value < 1:
            raise ValueError('{}: {} must be in [0, 1), got {}'.format(owner, name, value))


def _learning_rate(hp, t):
    if t == 0:
        raise RuntimeError("Adam: the bias-corrected step size is undefined before the first "
                           "update (t == 0)")
    return hp.alpha * math.sqrt(1 - hp.beta2 ** t) / (1 - hp.beta1 ** t)


class AdamRule(optimizer.UpdateRule):
    """The update rule of Adam; its state is ``m`` and ``v`` (and ``vhat`` with amsgrad).

    ``m = beta1 * m + (1 - beta1) * grad``, ``v = beta2 * v + (1 - beta2) * grad**2``,
    ``vhat = max(vhat, v)`` (amsgrad) or ``v``, then
    ``param -= eta * (alpha_t * m / (sqrt(vhat) + eps) + weight_decay_rate * param)`` with
    the bias-corrected ``alpha_t = alpha * sqrt(1 - beta2**t) / (1 - beta1**t)``.
    AdaBound (Luo et al., 2019) clips the per-element step size ``alpha_t / (sqrt(vhat) + eps)``
    to ``[lr * (1 - 1 / (gamma t + 1)), lr * (1 + 1 / (gamma t))]`` with
    ``lr = final_lr * alpha / initial_alpha`` (``initial_alpha``: alpha when the rule was
    made, so a schedule on alpha moves the bounds too, as in Chainer).

    Args:
        parent_hyperparam (Hyperparameter): the defaults (Adam's when None).
        alpha, beta1, beta2, eps, eta, weight_decay_rate, amsgrad, adabound, final_lr, gamma:
            as in Adam (None: the parent's).
    """

    work_arrays = 1

    def __init__(self, parent_hyperparam=None, alpha=None, beta1=None, beta2=None, eps=None,
                 eta=None, weight_decay_rate=None, amsgrad=None, adabound=None, final_lr=None,
                 gamma=None):
        super().__init__(parent_hyperparam or _default_hyperparam)
        values = dict(alpha=alpha, beta1=beta1, beta2=beta2, eps=eps, eta=eta,
                      weight_decay_rate=weight_decay_rate, amsgrad=amsgrad, adabound=adabound,
                      final_lr=final_lr, gamma=gamma)
        _check('AdamRule', values, allow_none=True)
        for name, value in values.items():
            if value is not None:
                setattr(self.hyperparam, name, value)
        self.initial_alpha = self.hyperparam.alpha

    def init_state(self, param):
        xp = param.xp
        self.state['m'] = xp.zeros_like(param.data)
        self.state['v'] = xp.zeros_like(param.data)
        if self.hyperparam.amsgrad:
            self.state['vhat'] = xp.zeros_like(param.data)

    @property
    def alpha_t(self):
        """The bias-corrected step size of this rule's current step."""
        return _learning_rate(self.hyperparam, self.t)

    @property
    def lr(self):
        """The bias-corrected step size (Chainer's older name of ``alpha_t``)."""
        return self.alpha_t

    @property
    def bounds(self):
        """AdaBound's (lower, upper) bounds of the step size at this rule's step ``t``."""
        if self.t == 0:
            raise RuntimeError('AdamRule: the AdaBound bounds are undefined before the first '
                               'update (t == 0)')
        hp = self.hyperparam
        final_lr = hp.final_lr * hp.alpha / self.initial_alpha
        lower = final_lr * (1.0 - 1.0 / (hp.gamma * self.t + 1))
        upper = final_lr * (1.0 + 1.0 / (hp.gamma * self.t))
        return lower, upper

    def step_coefficients(self):
        hp = self.hyperparam
        bounds = self.bounds if hp.adabound else None
        return (hp.beta1, 1 - hp.beta1, hp.beta2, 1 - hp.beta2, hp.eps, self.alpha_t, hp.eta,
                hp.eta * hp.weight_decay_rate, hp.amsgrad, bounds)

    def update_arrays(self, coefficients, data, grad, state, work):
        xp = backend.get_array_module(data)
        (beta1, one_minus_beta1, beta2, one_minus_beta2, eps, alpha_t, eta, decay, amsgrad,
         bounds) = coefficients
        m, v = state['m'], state['v']
        scratch = work[0]
        m *= beta1
        xp.multiply(grad, one_minus_beta1, out=scratch)
        m += scratch
        v *= beta2
        xp.multiply(grad, grad, out=scratch)
        scratch *= one_minus_beta2
        v += scratch
        if amsgrad:
            vhat = state['vhat']
            xp.maximum(vhat, v, out=vhat)
        else:
            vhat = v
        xp.sqrt(vhat, out=scratch)
        scratch += eps
        if bounds is None:
            xp.divide(m, scratch, out=scratch)
            scratch *= eta * alpha_t
        else:
            xp.divide(alpha_t, scratch, out=scratch)
            xp.clip(scratch, bounds[0], bounds[1], out=scratch)
            scratch *= m
            scratch *= eta
        if decay:
            # The decay uses the parameter before this step: param * (1 - eta * rate).
            data *= 1 - decay
        data -= scratch


class Adam(optimizer.GradientMethod):
    """Adam, with AdamW's decoupled weight decay (``eta``, ``weight_decay_rate``), AMSGrad and
    AdaBound.

    With the defaults ``eta=1`` and ``weight_decay_rate=0`` this is the original Adam; with
    ``amsgrad`` and ``adabound`` both True it is AMSBound.

    Args:
        alpha (float): the step size (0.001).
        beta1 (float): the decay rate of the first moment (0.9).
        beta2 (float): the decay rate of the second moment (0.999).
        eps (float): added to the denominator for stability (1e-8).
        eta (float): a schedule multiplier of the whole step (1.0).
        weight_decay_rate (float): the decoupled weight decay (0).
        amsgrad (bool): use AMSGrad's running maximum of ``v`` (False).
        adabound (bool): use AdaBound's clipping of the step size (False); see AdamRule.
        final_lr (float): AdaBound's final (SGD) learning rate (0.1).
        gamma (float): how fast AdaBound's bounds converge to ``final_lr`` (1e-3).
    """

    alpha = optimizer.HyperparameterProxy('alpha')
    beta1 = optimizer.HyperparameterProxy('beta1')
    beta2 = optimizer.HyperparameterProxy('beta2')
    eps = optimizer.HyperparameterProxy('eps')
    eta = optimizer.HyperparameterProxy('eta')
    weight_decay_rate = optimizer.HyperparameterProxy('weight_decay_rate')
    amsgrad = optimizer.HyperparameterProxy('amsgrad')
    adabound = optimizer.HyperparameterProxy('adabound')
    final_lr = optimizer.HyperparameterProxy('final_lr')
    gamma = optimizer.HyperparameterProxy('gamma')

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0,
                 weight_decay_rate=0, amsgrad=False, adabound=False, final_lr=0.1, gamma=1e-3):
        super().__init__()
        values = dict(alpha=alpha, beta1=beta1, beta2=beta2, eps=eps, eta=eta,
                      weight_decay_rate=weight_decay_rate, amsgrad=bool(amsgrad),
                      adabound=bool(adabound), final_lr=final_lr, gamma=gamma)
        _check(type(self).__name__, values, allow_none=False)
        for name, value in values.items():
            setattr(self.hyperparam, name, value)

    def create_update_rule(self):
        return AdamRule(self.hyperparam)

    @property
    def alpha_t(self):
        """The bias-corrected step size at the optimizer's step ``t``."""
        return _learning_rate(self.hyperparam, self.t)

    @property
    def lr(self):
        """The bias-corrected step size (``alpha_t``), as Chainer's ``Adam.lr``."""
        return self.alpha_t


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter); the same as Adam with its
    ``weight_decay_rate``."""

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0,
                 weight_decay_rate=0):
        super().__init__(alpha, beta1, beta2, eps, eta, weight_decay_rate)


class AMSGrad(Adam):
    """Adam with AMSGrad's running maximum of the second moment (Reddi et al., 2018)."""

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0,
                 weight_decay_rate=0):
        super().__init__(alpha, beta1, beta2, eps, eta, weight_decay_rate, amsgrad=True)


class AdaBound(Adam):
    """Adam with AdaBound's dynamic bounds on the step size (Luo et al., 2019)."""

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, final_lr=0.1, gamma=1e-3, eps=1e-8,
                 eta=1.0):
        super().__init__(alpha, beta1, beta2, eps, eta, amsgrad=False,
                         adabound=True, final_lr=final_lr, gamma=gamma)


class AMSBound(Adam):
    """AMSGrad with AdaBound's dynamic bounds on the step size (Luo et al., 2019)."""

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, final_lr=0.1, gamma=1e-3, eps=1e-8,
                 eta=1.0):
        super().__init__(alpha, beta1, beta2, eps, eta, amsgrad=True,
                         adabound=True, final_lr=final_lr, gamma=gamma)
