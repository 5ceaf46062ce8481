"""Optimizers: Optimizer, GradientMethod, UpdateRule and Hyperparameter (Chainer's protocol).

An optimizer is set up on a link (``optimizer.setup(model)``) and gives every parameter an
UpdateRule (``param.update_rule``) holding the rule's hyperparameters (defaults from the
optimizer's, so ``optimizer.lr = 0.1`` reaches every rule), its state arrays (created at the
first update) and its update count ``t``. ``optimizer.update()`` runs the optimizer's hooks and
then every rule.

A rule written for dchain describes its update once, for NumPy and CuPy alike, as
``update_arrays(coefficients, data, grad, state, work)`` on arrays of one shape. The same code
then runs per parameter, or over the whole model at once: when every enabled parameter shares
a device, a dtype, a rule class and the optimizer's hyperparameters, GradientMethod packs
parameters, gradients and states into flat buffers (see ``dchain.optimizers.flat``) and updates
them in a few large in-place operations.
"""
import collections
import numbers

import numpy

from dchain import _timeline, backend
from dchain._accumulation import Accumulation, divide_grads
from dchain._loss_scaling import LossScaling
from dchain.link import Link
from dchain.serializers.base import Deserializer
from dchain.variable import Parameter


class Hyperparameter:
    """A set of hyperparameters; an attribute not set here is read from ``parent``.

    Args:
        parent (Hyperparameter or None): where missing attributes come from.
    """

    def __init__(self, parent=None):
        self._parent = parent

    def __getattr__(self, name):
        if '_parent' not in self.__dict__:  # during copy/unpickling, before __init__
            raise AttributeError(name)
        parent = self._parent
        if parent is None:
            raise AttributeError('Hyperparameter has no attribute {!r}'.format(name))
        return getattr(parent, name)

    def __repr__(self):
        items = sorted(self.get_dict().items())
        return 'Hyperparameter({})'.format(', '.join('{}={!r}'.format(k, v) for k, v in items))

    @property
    def parent(self):
        """The Hyperparameter that provides the defaults (or None)."""
        return self._parent

    def get_dict(self):
        """Every hyperparameter as a dict, this object's values over its parent's."""
        values = {} if self._parent is None else self._parent.get_dict()
        values.update((k, v) for k, v in self.__dict__.items() if k != '_parent')
        return values


class HyperparameterProxy:
    """A property of an optimizer that reads and writes ``optimizer.hyperparam.<name>``."""

    def __init__(self, name):
        self._name = name
        self.__doc__ = 'Alias of ``self.hyperparam.{}``.'.format(name)

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return getattr(obj.hyperparam, self._name)

    def __set__(self, obj, value):
        setattr(obj.hyperparam, self._name, value)


def check_real(owner, name, value):
    """Refuse a hyperparameter that is not a real number (bools included)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError('{}: {} must be a real number, got {}'.format(
            owner, name, type(value).__name__))


def _add_hook(owner, hooks, hook, name, timing):
    """Register ``hook`` in ``hooks`` (a dict of 'pre' and 'post' dicts), Chainer's way."""
    if not callable(hook):
        raise TypeError('{}.add_hook: hook must be callable, got {}'.format(
            owner, type(hook).__name__))
    if timing not in ('pre', 'post', 'auto'):
        raise ValueError("{}.add_hook: timing must be 'pre', 'post' or 'auto', got {!r}".format(
            owner, timing))
    if timing == 'auto':
        timing = getattr(hook, 'timing', 'pre')
    if name is None:
        name = getattr(hook, 'name', None) or getattr(hook, '__name__', None)
        if name is None:
            raise ValueError('{}.add_hook: the hook has no name attribute; pass name='.format(
                owner))
    if name in hooks['pre'] or name in hooks['post']:
        raise KeyError('{}.add_hook: a hook named {!r} already exists'.format(owner, name))
    hooks[timing][name] = hook


def _remove_hook(owner, hooks, name):
    for timing in ('pre', 'post'):
        if name in hooks[timing]:
            del hooks[timing][name]
            return
    raise KeyError('{}.remove_hook: no hook named {!r}'.format(owner, name))


def work_dtype(dtype):
    """The dtype of the scratch arrays of an update: float32 for float16 parameters."""
    return numpy.dtype(numpy.float32) if dtype == numpy.float16 else dtype


class UpdateRule:
    """How one parameter is updated.

    Args:
        parent_hyperparam (Hyperparameter): where this rule's hyperparameters default from.
    Attributes:
        enabled (bool): False leaves the parameter as it is.
        hyperparam (Hyperparameter): this rule's hyperparameters.
        t (int): how many times this rule has updated its parameter.
        state (dict or None): per-parameter arrays (e.g. Adam's ``m`` and ``v``), created by
            ``init_state`` at the first update.

    A subclass either defines ``update_arrays`` with ``work_arrays`` (one code path for NumPy
    and CuPy, which also allows fused updates of the whole model) or, as in Chainer,
    ``update_core_cpu`` and ``update_core_gpu`` (or ``update_core``).
    """

    # How many scratch arrays update_arrays needs; None when the rule has no update_arrays.
    work_arrays = None
    _use_fp32_update = False
    _fp32_param = None      # the float32 master copy of a float16 parameter
    _fp16_written = None    # the float16 array the master copy was last written into
    _grad_unscale = None    # a loss scale still in the float16 gradient (use_fp32_update)

    def __init__(self, parent_hyperparam=None):
        self._pre_update_hooks = collections.OrderedDict()
        self._post_update_hooks = collections.OrderedDict()
        self._state = None
        self.enabled = True
        self.hyperparam = Hyperparameter(parent_hyperparam)
        self.t = 0

    @property
    def state(self):
        """The state dict (None before the first update)."""
        return self._state

    def set_hyperparams(self, **values):
        """Override the parent's hyperparameters with every value that is not None (each
        checked to be a real number)."""
        for name, value in values.items():
            if value is not None:
                check_real(type(self).__name__, name, value)
                setattr(self.hyperparam, name, value)

    def add_hook(self, hook, name=None, timing='auto'):
        """Register ``hook(rule, param)`` to run before ('pre') or after ('post') each update.

        'auto' reads ``hook.timing`` ('pre' when it has none); ``name`` defaults to
        ``hook.name``.
        """
        _add_hook('UpdateRule', self._hooks(), hook, name, timing)

    def remove_hook(self, name):
        """Unregister the hook ``name``."""
        _remove_hook('UpdateRule', self._hooks(), name)

    def _hooks(self):
        return {'pre': self._pre_update_hooks, 'post': self._post_update_hooks}

    def use_fp32_update(self, flag=True):
        """Update a float16 parameter through a float32 master copy (Chainer's mixed
        precision): its gradient is cast to float32, the rule (and its hooks) update the
        master copy, whose state is float32 too, and the parameter receives the master copy
        rounded to float16. Small steps then accumulate instead of rounding away. The master
        copy is made from the parameter at the first update (and again whenever the
        parameter's array is replaced), kept in ``fp32_param`` and saved with the state.
        Other dtypes are updated as before."""
        self._use_fp32_update = bool(flag)
        if not flag:
            self._fp32_param = self._fp16_written = None

    @property
    def fp32_param(self):
        """The float32 master copy (a Parameter), or None."""
        return self._fp32_param

    def update(self, param):
        """Update ``param`` from its gradient (nothing happens without one, or when disabled)."""
        unscale, self._grad_unscale = self._grad_unscale, None
        if not self.enabled or param.data is None or param.grad is None:
            return
        if self._use_fp32_update and param.data.dtype == numpy.float16:
            self._update_through_master(param, unscale)
            return
        self.t += 1
        self._prepare(param)
        for hook in self._pre_update_hooks.values():
            hook(self, param)
        self.update_core(param)
        for hook in self._post_update_hooks.values():
            hook(self, param)

    def _serialize_master(self, serializer):
        if not isinstance(serializer, Deserializer):
            if self._fp32_param is not None:
                serializer('fp32_param', self._fp32_param.data)
            return
        try:
            value = serializer('fp32_param', None)
        except KeyError:
            value = None
        self._fp32_param = None if value is None else Parameter(
            backend.to_cpu(value).astype(numpy.float32))
        self._fp16_written = None  # the parameter may be loaded after this: take it as is

    def _update_through_master(self, param, unscale):
        master = self._fp32_param
        data = param.data
        if master is not None and backend.is_gpu_array(data) != backend.is_gpu_array(
                master.data):
            master.data = backend.to_gpu(master.data, data.device) \
                if backend.is_gpu_array(data) else backend.to_cpu(master.data)
        if master is None or master.data.shape != data.shape or (
                self._fp16_written is not None and data is not self._fp16_written):
            master = self._fp32_param = Parameter(data.astype(numpy.float32), name=param.name)
        master.grad = param.grad.astype(numpy.float32)
        if unscale is not None:
            master.grad /= unscale
        self.t += 1
        self._prepare(master)
        for hook in self._pre_update_hooks.values():
            hook(self, master)
        self.update_core(master)
        for hook in self._post_update_hooks.values():
            hook(self, master)
        data[...] = master.data  # rounded to float16, in place: views of it stay valid
        self._fp16_written = data
        master.grad = None

    def _prepare(self, param):
        state = self._state
        if state is None:
            self._state = state = {}
            self.init_state(param)
            return
        # A state loaded from a file lives on the host; follow the parameter's device.
        on_gpu = backend.is_gpu_array(param.data)
        for name, value in state.items():
            if on_gpu and isinstance(value, numpy.ndarray):
                state[name] = backend.to_gpu(value, param.data.device)
            elif not on_gpu and backend.is_gpu_array(value):
                state[name] = value.get()

    def init_state(self, param):
        """Create the state arrays for ``param`` in ``self.state`` (none by default)."""

    def update_core(self, param):
        """Apply the update to ``param.data`` in place."""
        if self.work_arrays is None:
            if backend.is_gpu_array(param.data):
                self.update_core_gpu(param)
            else:
                self.update_core_cpu(param)
            return
        grad = param.grad
        if grad is None:
            return
        data = param.data
        xp = backend.get_array_module(data)
        dtype = work_dtype(data.dtype)
        work = [xp.empty(data.shape, dtype) for _ in range(self.work_arrays)]
        self.update_arrays(self.step_coefficients(), data, grad, self._state, work)

    def update_core_cpu(self, param):
        """The update on the CPU, for rules written in Chainer's style."""
        raise NotImplementedError('{} defines neither update_arrays nor update_core_cpu'.format(
            type(self).__name__))

    def update_core_gpu(self, param):
        """The update on a GPU, for rules written in Chainer's style."""
        raise NotImplementedError('{} defines neither update_arrays nor update_core_gpu'.format(
            type(self).__name__))

    def step_coefficients(self):
        """The scalars of this step for ``update_arrays``, read once per step (after ``t``
        has been incremented)."""
        return ()

    def update_arrays(self, coefficients, data, grad, state, work):
        """Update ``data`` and the ``state`` arrays in place from ``grad``.

        All arrays share one shape; ``work`` holds ``work_arrays`` scratch arrays of that
        shape (float32 for float16 data). Called per parameter, or on slices of the flat
        buffers of the whole model, so it must be elementwise.
        """
        raise NotImplementedError

    def serialize(self, serializer):
        """Save or load ``t`` and the state arrays (keys like ``m`` under the parameter's path).

        Loading into a rule that has not updated yet creates the state from the file; a file
        without the state (saved before the rule's first update, or for a disabled rule)
        leaves it to be created lazily. With ``use_fp32_update``, the float32 master copy is
        saved as ``fp32_param``; a file without it (Chainer's) makes it again from the loaded
        parameter.
        """
        self.t = serializer('t', self.t)
        if self._use_fp32_update:
            self._serialize_master(serializer)
        if self._state is not None:
            for key in self._state:
                self._state[key] = serializer(key, self._state[key])
            return
        if not isinstance(serializer, Deserializer):
            return
        # Learn the state's keys from a one-element stand-in parameter.
        probe = numpy.zeros(1, numpy.float32)
        stand_in = Parameter(probe)
        stand_in.grad = probe
        saved, self._state = self._state, {}
        self.init_state(stand_in)
        keys, self._state = list(self._state), saved
        state = {}
        for key in keys:
            try:
                value = serializer(key, None)
            except KeyError:
                # Saved before the rule's first update (t == 0 in the file), or for a frozen
                # parameter, there is no state to load; otherwise it is missing.
                if self.enabled and self.t:
                    raise
                value = None
            if value is None:
                return
            state[key] = value
        self._state = state


class Optimizer(LossScaling):
    """Base class of optimizers.

    Attributes:
        target (Link): the link being optimized (set by ``setup``).
        t (int): the number of updates so far.
        epoch (int): the current epoch (``new_epoch`` increments it).
        use_auto_new_epoch (bool): True when an updater calls ``new_epoch(auto=True)``.
    """

    target = None
    t = 0
    epoch = 0
    use_auto_new_epoch = False
    _pre_update_hooks = None
    _post_update_hooks = None

    @property
    def _label(self):
        return type(self).__name__

    def setup(self, link):
        """Make ``link`` the target; returns self."""
        if not isinstance(link, Link):
            raise TypeError('{}.setup: the target must be a Link, got {}'.format(
                self._label, type(link).__name__))
        self.target = link
        self.t = 0
        self.epoch = 0
        self._pre_update_hooks = collections.OrderedDict()
        self._post_update_hooks = collections.OrderedDict()
        return self

    def _require_setup(self, method):
        if self.target is None:
            raise RuntimeError('{}.{}: call setup(link) first'.format(self._label, method))

    def update(self, lossfun=None, *args, **kwds):
        """Update the target's parameters (see GradientMethod.update)."""
        raise NotImplementedError

    def new_epoch(self, auto=False):
        """Start a new epoch (``auto=True`` when called by an updater)."""
        if auto and not self.use_auto_new_epoch:
            raise RuntimeError('{}.new_epoch(auto=True): the updater must set '
                               'use_auto_new_epoch = True first'.format(self._label))
        if not auto and self.use_auto_new_epoch:
            raise RuntimeError('{}.new_epoch: the updater already starts epochs '
                               '(use_auto_new_epoch is True)'.format(self._label))
        self.epoch += 1

    def add_hook(self, hook, name=None, timing='auto'):
        """Register a hook called before ('pre') or after ('post') every update.

        A hook with ``call_for_each_param = True`` is called as ``hook(rule, param)`` for each
        parameter, any other as ``hook(optimizer)``. 'auto' reads ``hook.timing``. ``name``
        defaults to ``hook.name``.
        """
        if self._pre_update_hooks is None:
            raise RuntimeError('{}.add_hook: call setup(link) before add_hook'.format(self._label))
        _add_hook(self._label, self._hooks(), hook, name, timing)

    def remove_hook(self, name):
        """Unregister the hook ``name``."""
        self._require_setup('remove_hook')
        _remove_hook(self._label, self._hooks(), name)

    def _hooks(self):
        return {'pre': self._pre_update_hooks, 'post': self._post_update_hooks}

    def call_hooks(self, timing='pre'):
        """Call the hooks of ``timing`` ('pre' or 'post') in registration order."""
        if timing not in ('pre', 'post'):
            raise ValueError("{}.call_hooks: timing must be 'pre' or 'post', got {!r}".format(
                self._label, timing))
        hooks = self._pre_update_hooks if timing == 'pre' else self._post_update_hooks
        for hook in hooks.values():
            self.call_hook(hook)

    def call_hook(self, hook):
        """Call one hook, per parameter when ``hook.call_for_each_param``."""
        if getattr(hook, 'call_for_each_param', False):
            for param in self.target.params(False):
                hook(param.update_rule, param)
        else:
            hook(self)

    def serialize(self, serializer):
        """Save or load ``t``, ``epoch`` and every rule's state (Chainer's key layout:
        ``t``, ``epoch``, ``predictor/l1/W/t``, ``predictor/l1/W/m``, ...)."""
        self._require_setup('serialize')
        self.t = serializer('t', self.t)
        self.epoch = serializer('epoch', self.epoch)
        self._serialize_loss_scaling(serializer)
        for path, param in self.target.namedparams():
            rule = param.update_rule
            if rule is not None:
                rule.serialize(serializer[path.lstrip('/')])


class GradientMethod(Optimizer, Accumulation):
    """Base class of the optimizers that update each parameter from its gradient.

    A subclass defines ``create_update_rule()`` and usually exposes its hyperparameters with
    ``HyperparameterProxy``.

    Attributes:
        hyperparam (Hyperparameter): the defaults of every rule's hyperparameters.
        use_fused (bool): allow the fused update (True). The fused update rebinds each
            parameter's ``data`` as a view of a flat buffer, copying its values, but only when
            nothing else holds the array; otherwise the update runs per parameter.
    """

    use_fused = True

    def __init__(self):
        self.hyperparam = Hyperparameter()
        self._flat = None

    def create_update_rule(self):
        """A new UpdateRule for one parameter."""
        raise NotImplementedError

    def setup(self, link):
        super().setup(link)
        self._flat = None
        for param in link.params():
            rule = self.create_update_rule()
            rule.enabled = param.__dict__.get('_update_enabled', True)
            if self._use_fp32_update:
                rule.use_fp32_update()
            param.update_rule = rule
        return self

    _use_fp32_update = False

    def use_fp32_update(self, flag=True):
        """Update float16 parameters through float32 master copies (see
        ``UpdateRule.use_fp32_update``), for every parameter now and set up later."""
        self._use_fp32_update = bool(flag)
        if self.target is not None:
            for param in self.target.params():
                if param.update_rule is not None:
                    param.update_rule.use_fp32_update(flag)

    def update(self, lossfun=None, *args, **kwds):
        """Update every enabled parameter that has a gradient.

        With ``lossfun``, first compute ``loss = lossfun(*args, **kwds)``, clear the target's
        gradients and run ``loss.backward()`` (``compute_grads``), then undo the loss scale
        (``unscale_grads``); without it, use the gradients already there. Then
        ``apply_grads``. A data-parallel optimizer runs the same three steps with its
        collectives between them.

        With ``micro_batches`` k > 1, the batch is processed in k parts whose gradients add
        up before the one update; inside ``no_sync()`` the gradients only add up (see
        ``dchain._accumulation``).
        """
        self._require_setup('update')
        if self._split_update(lossfun, args, kwds):
            return
        if self._no_sync_depth or self._accumulated is not None:
            self._accumulate(self._compute_part, lossfun, args, kwds)
            if self._no_sync_depth:
                return
            total = self._end_accumulation()
            if total:
                divide_grads(self.target.params(False), total)
            self.unscale_grads()
            self.apply_grads()
            return
        if lossfun is not None:
            self.compute_grads(lossfun, args, kwds)
            self.unscale_grads()
        self.apply_grads()

    def _compute_part(self, lossfun, args, kwds, grad_scale, accumulate):
        self.compute_grads(lossfun, args, kwds, grad_scale=grad_scale, accumulate=accumulate)

    def compute_grads(self, lossfun, args=(), kwds=None, grad_scale=None, accumulate=False):
        """The "compute the gradients" step: ``loss = lossfun(*args, **kwds)``, clear the
        target's gradients, and ``loss.backward`` with the initial gradient set to the loss
        scale (``set_loss_scale``; 1 without one) times ``grad_scale`` (None: 1).

        ``grad_scale`` weights this process's loss in a sum over processes (a data-parallel
        rank's share of the global batch). The gradients stay multiplied by the loss scale
        until ``unscale_grads``. With ``accumulate`` the gradients already there are kept and
        added to (a micro-batch of a larger step). Returns nothing; the loss is reported by
        the loss function as usual.
        """
        self._require_setup('compute_grads')
        mark = _timeline.mark()
        loss = lossfun(*args, **(kwds or {}))
        _timeline.span('forward', mark)
        mark = _timeline.mark()
        if not accumulate:
            self.target.cleargrads()
        scale = self._loss_scale
        if grad_scale is not None:
            scale = grad_scale if scale is None else scale * grad_scale
        loss.backward(loss_scale=scale)
        del loss
        _timeline.span('backward', mark)

    def unscale_grads(self):
        """Divide every gradient by the loss scale (nothing without one).

        A float16 gradient whose rule updates through a float32 master copy
        (``use_fp32_update``) is divided after its cast to float32, inside the rule, where
        small values do not flush to zero; optimizer-level hooks see it still scaled (as in
        Chainer)."""
        loss_scale = self._loss_scale
        if loss_scale is None:
            return
        for param in self.target.params(False):
            grad = param.grad
            if grad is None:
                continue
            rule = param.update_rule
            if rule is not None and rule._use_fp32_update and grad.dtype == numpy.float16:
                rule._grad_unscale = loss_scale
            else:
                grad /= loss_scale

    def apply_grads(self):
        """Run the 'pre' hooks, count the step (``t``), update every enabled parameter that
        has a gradient (fused when possible), then run the 'post' hooks."""
        self._require_setup('apply_grads')
        mark = _timeline.mark()
        self.check_nan_in_grads()
        self.call_hooks('pre')
        self.t += 1
        if not self.is_safe_to_update():
            for param in self.target.params(False):
                if param.update_rule is not None:
                    param.update_rule._grad_unscale = None
        elif not (self.use_fused and self._update_fused()):
            for param in self.target.params(False):
                rule = param.update_rule
                if rule is not None:
                    rule.update(param)
        self.call_hooks('post')
        self.update_loss_scale()
        _timeline.span('update', mark)

    def fused_parameters(self):
        """The FlatParameters packing the enabled parameters, or None when they cannot be fused.

        Fusing needs every enabled parameter on one device with one float dtype, rules of one
        class with ``update_arrays``, no rule-level hooks or hyperparameters, equal ``t``, and
        arrays that nothing else holds. Packing creates the rules' states. A data-parallel
        optimizer reduces every gradient at once through it: ``flat.gather_grads()``, one
        collective on ``flat.grad``, then ``update()``.
        """
        self._require_setup('fused_parameters')
        params = []
        for param in self.target.params(False):
            rule = param.update_rule
            if rule is not None and rule.enabled:
                params.append(param)
        flat = self._flat
        if not params or not self._rules_fusable(params):
            self._flat = None
        elif flat is None or not flat.refresh(params):
            # Drop the old buffers first: their views would count as holders of the arrays.
            self._flat = flat = None
            # Imported here, not at the top: dchain.optimizers imports this module.
            from dchain.optimizers.flat import FlatParameters
            self._flat = FlatParameters.pack(params)
        return self._flat

    def _rules_fusable(self, params):
        first = params[0].update_rule
        rule_class = type(first)
        if rule_class.work_arrays is None:
            return False
        hyperparam, t = self.hyperparam, first.t
        for param in params:
            rule = param.update_rule
            if (type(rule) is not rule_class or rule.t != t or rule._pre_update_hooks
                    or rule._post_update_hooks or rule.hyperparam._parent is not hyperparam
                    or len(rule.hyperparam.__dict__) != 1 or (
                        rule._use_fp32_update and param.data.dtype == numpy.float16)):
                return False
        return True

    def _update_fused(self):
        flat = self.fused_parameters()
        if flat is None:
            return False
        params = flat.params
        for param in params:
            if param._grad_var is None:
                return False  # it must be skipped: update per parameter instead
        for param in params:
            param.update_rule.t += 1
        flat.apply(params[0].update_rule)
        return True


# Chainer's aliases of the optimizer hooks: ``optimizer.WeightDecay`` etc.
from dchain.optimizer_hooks import (GradientClipping, GradientHardClipping,  # noqa: E402,F401
                                    Lasso, WeightDecay)
