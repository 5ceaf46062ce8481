"""Optimizer and GradientMethod: setup, update(lossfun, ...), hooks, t/epoch, skipped and
disabled parameters, lazily initialized parameters, hyperparameters, errors."""
import numpy
import pytest

import dchain
import dchain.functions as F
from dchain import optimizer as optimizer_module
from dchain import optimizers
from dchain.links.connection.linear import Linear
from dchain.testing import assert_allclose


def _mlp(xp, in_size=3):
    dchain.random.seed(1)
    model = dchain.Chain(l1=Linear(in_size, 4), l2=Linear(4, 2))
    return model.to_device('@numpy' if xp is numpy else '@cupy:0')


def _set_grads(model, rng, xp):
    for param in model.params():
        param.grad = xp.asarray(rng.uniform(-1, 1, param.shape), param.dtype)


def _squared_error(model, x, t):
    y = model.l2(model.l1(x))
    return F.sum((y - t) * (y - t))


def test_setup_returns_self_and_gives_each_parameter_a_rule():
    model = _mlp(numpy)
    optimizer = optimizers.MomentumSGD(lr=0.2)
    assert optimizer.setup(model) is optimizer
    assert optimizer.target is model
    rules = [param.update_rule for param in model.params()]
    assert len({id(rule) for rule in rules}) == 4
    for rule in rules:
        assert isinstance(rule, optimizers.MomentumSGDRule)
        assert rule.hyperparam.parent is optimizer.hyperparam
        assert rule.hyperparam.lr == 0.2
        assert rule.state is None and rule.t == 0 and rule.enabled


@pytest.mark.parametrize('fused', [False, True])
def test_update_with_lossfun_clears_grads_runs_backward_and_updates(xp, fused):
    model = _mlp(xp)
    rng = numpy.random.default_rng(0)
    x = rng.uniform(-1, 1, (5, 3)).astype(numpy.float32)
    t = rng.uniform(-1, 1, (5, 2)).astype(numpy.float32)
    W1, b1, W2, b2 = [dchain.backend.to_cpu(p.data).astype(numpy.float64)
                      for p in (model.l1.W, model.l1.b, model.l2.W, model.l2.b)]
    # The gradients of sum((y - t)^2) written out, from the parameters before the update.
    h = x @ W1.T + b1
    gy = 2 * (h @ W2.T + b2 - t)
    gh = gy @ W2
    expected = {'/l1/W': W1 - 0.1 * gh.T @ x, '/l1/b': b1 - 0.1 * gh.sum(0),
                '/l2/W': W2 - 0.1 * gy.T @ h, '/l2/b': b2 - 0.1 * gy.sum(0)}
    _set_grads(model, rng, xp)  # stale gradients that update must clear first
    optimizer = optimizers.SGD(lr=0.1)
    optimizer.use_fused = fused
    optimizer.setup(model)
    optimizer.update(_squared_error, model, xp.asarray(x), t=xp.asarray(t))
    assert (optimizer._flat is not None) == fused
    for path, param in model.namedparams():
        assert_allclose(param.data, expected[path], atol=1e-5, rtol=1e-4)
    assert optimizer.t == 1


def test_update_without_lossfun_uses_the_existing_grads(xp):
    model = _mlp(xp)
    optimizer = optimizers.SGD(lr=0.5).setup(model)
    rng = numpy.random.default_rng(0)
    _set_grads(model, rng, xp)
    before = {path: p.data.copy() for path, p in model.namedparams()}
    grads = {path: p.grad.copy() for path, p in model.namedparams()}
    optimizer.update()
    for path, param in model.namedparams():
        assert_allclose(param.data, before[path] - 0.5 * grads[path])


@pytest.mark.parametrize('fused', [False, True])
def test_parameters_without_grad_are_skipped(fused):
    model = _mlp(numpy)
    optimizer = optimizers.Adam()
    optimizer.use_fused = fused
    optimizer.setup(model)
    _set_grads(model, numpy.random.default_rng(0), numpy)
    model.l2.b.grad = None
    kept = model.l2.b.data.copy()
    before = model.l1.W.data.copy()
    optimizer.update()
    assert numpy.array_equal(model.l2.b.data, kept)
    assert model.l2.b.update_rule.t == 0
    assert not numpy.allclose(model.l1.W.data, before)
    assert model.l1.W.update_rule.t == 1


@pytest.mark.parametrize('fused', [False, True])
@pytest.mark.parametrize('before_setup', [False, True])
def test_disabled_parameters_are_not_updated(fused, before_setup):
    model = _mlp(numpy)
    optimizer = optimizers.MomentumSGD()
    optimizer.use_fused = fused
    if before_setup:
        model.l1.disable_update()
        optimizer.setup(model)
    else:
        optimizer.setup(model)
        model.l1.disable_update()
    assert not model.l1.W.update_rule.enabled
    rng = numpy.random.default_rng(0)
    frozen = model.l1.W.data.copy()
    moving = model.l2.W.data.copy()
    for _ in range(2):
        _set_grads(model, rng, numpy)
        optimizer.update()
    assert numpy.array_equal(model.l1.W.data, frozen)
    assert model.l1.W.update_rule.state is None
    assert not numpy.allclose(model.l2.W.data, moving)
    model.l1.enable_update()
    _set_grads(model, rng, numpy)
    optimizer.update()
    assert not numpy.allclose(model.l1.W.data, frozen)


@pytest.mark.parametrize('fused', [False, True])
def test_lazily_initialized_parameters(fused):
    dchain.random.seed(0)
    model = dchain.Chain(l1=Linear(None, 4), l2=Linear(4, 2))
    optimizer = optimizers.Adam(alpha=0.01)
    optimizer.use_fused = fused
    optimizer.setup(model)
    assert model.l1.W.data is None and model.l1.W.update_rule is not None
    optimizer.update()  # no gradients at all yet: nothing happens
    assert model.l1.W.update_rule.state is None
    x = numpy.ones((2, 6), numpy.float32)
    t = numpy.zeros((2, 2), numpy.float32)
    optimizer.update(_squared_error, model, x, t)
    assert model.l1.W.shape == (4, 6)
    assert model.l1.W.update_rule.state['m'].shape == (4, 6)
    assert model.l1.W.update_rule.t == 1
    before = model.l1.W.data.copy()
    optimizer.update(_squared_error, model, x, t)
    assert not numpy.allclose(model.l1.W.data, before)


def test_t_epoch_and_new_epoch():
    model = _mlp(numpy)
    optimizer = optimizers.SGD().setup(model)
    for _ in range(3):
        _set_grads(model, numpy.random.default_rng(0), numpy)
        optimizer.update()
    assert optimizer.t == 3 and optimizer.epoch == 0
    optimizer.new_epoch()
    optimizer.new_epoch()
    assert optimizer.epoch == 2
    with pytest.raises(RuntimeError, match=r'SGD.new_epoch\(auto=True\): the updater must set'):
        optimizer.new_epoch(auto=True)
    optimizer.use_auto_new_epoch = True
    optimizer.new_epoch(auto=True)
    assert optimizer.epoch == 3
    with pytest.raises(RuntimeError, match='SGD.new_epoch: the updater already starts epochs'):
        optimizer.new_epoch()
    optimizer.setup(model)
    assert optimizer.t == 0 and optimizer.epoch == 0


@pytest.mark.parametrize('fused', [False, True])
def test_rule_level_hyperparameter_overrides_the_optimizer(fused):
    model = _mlp(numpy)
    optimizer = optimizers.SGD(lr=0.1)
    optimizer.use_fused = fused
    optimizer.setup(model)
    model.l1.W.update_rule.hyperparam.lr = 1.0
    _set_grads(model, numpy.random.default_rng(0), numpy)
    before = {path: (p.data.copy(), p.grad.copy()) for path, p in model.namedparams()}
    optimizer.update()
    for path, param in model.namedparams():
        data, grad = before[path]
        assert_allclose(param.data, data - (1.0 if path == '/l1/W' else 0.1) * grad)
    assert optimizer.fused_parameters() is None  # rules differ: per parameter


def test_update_rule_hooks_run_around_the_update():
    model = _mlp(numpy)
    optimizer = optimizers.SGD(lr=1.0).setup(model)
    seen = []

    def pre(rule, param):
        seen.append(('pre', param.data.copy()))
        param.grad[...] = 1

    def post(rule, param):
        seen.append(('post', param.data.copy()))

    rule = model.l2.b.update_rule
    rule.add_hook(pre, timing='pre')
    rule.add_hook(post, timing='post')
    _set_grads(model, numpy.random.default_rng(0), numpy)
    start = model.l2.b.data.copy()
    optimizer.update()
    assert [s[0] for s in seen] == ['pre', 'post']
    assert_allclose(seen[0][1], start)
    assert_allclose(seen[1][1], start - 1)
    rule.remove_hook('pre')
    with pytest.raises(KeyError, match="no hook named 'pre'"):
        rule.remove_hook('pre')
    with pytest.raises(KeyError, match="a hook named .post. already exists"):
        rule.add_hook(post)


class _ChainerStyleRule(optimizer_module.UpdateRule):
    """A rule with Chainer's separate CPU/GPU methods."""

    def update_core_cpu(self, param):
        param.data -= 2 * param.grad

    def update_core_gpu(self, param):
        param.data -= 2 * param.grad


class _ChainerStyle(optimizer_module.GradientMethod):
    def create_update_rule(self):
        return _ChainerStyleRule(self.hyperparam)


def test_chainer_style_rules_run_per_parameter(xp):
    model = _mlp(xp)
    optimizer = _ChainerStyle().setup(model)
    _set_grads(model, numpy.random.default_rng(0), xp)
    before = {path: (p.data.copy(), p.grad.copy()) for path, p in model.namedparams()}
    optimizer.update()
    assert optimizer.fused_parameters() is None
    for path, param in model.namedparams():
        assert_allclose(param.data, before[path][0] - 2 * before[path][1])


def test_hyperparameter_reads_through_its_parent():
    parent = optimizer_module.Hyperparameter()
    parent.lr = 0.1
    parent.momentum = 0.9
    child = optimizer_module.Hyperparameter(parent)
    child.lr = 0.5
    assert child.lr == 0.5 and child.momentum == 0.9 and child.parent is parent
    assert child.get_dict() == {'lr': 0.5, 'momentum': 0.9}
    assert 'momentum=0.9' in repr(child)
    with pytest.raises(AttributeError):
        child.beta


def test_errors_before_setup():
    optimizer = optimizers.SGD()
    with pytest.raises(RuntimeError, match=r'SGD.update: call setup\(link\) first'):
        optimizer.update()
    with pytest.raises(RuntimeError, match=r'SGD.add_hook: call setup\(link\) before add_hook'):
        optimizer.add_hook(lambda opt: None, name='x')
    with pytest.raises(RuntimeError, match=r'SGD.serialize: call setup\(link\) first'):
        optimizer.serialize(None)


def test_setup_refuses_a_non_link():
    with pytest.raises(TypeError, match='Adam.setup: the target must be a Link, got ndarray'):
        optimizers.Adam().setup(numpy.zeros(3))


def test_call_hooks_refuses_a_bad_timing():
    optimizer = optimizers.SGD().setup(_mlp(numpy))
    with pytest.raises(ValueError, match="SGD.call_hooks: timing must be 'pre' or 'post', got "
                                         "'during'"):
        optimizer.call_hooks('during')


def test_static_loss_scaling_gives_the_unscaled_update():
    rng = numpy.random.default_rng(0)
    x = rng.uniform(-1, 1, (5, 3)).astype(numpy.float32)
    t = rng.uniform(-1, 1, (5, 2)).astype(numpy.float32)
    results = []
    for loss_scale in (None, 1024.0):
        model = _mlp(numpy)
        optimizer = optimizers.SGD(lr=0.1).setup(model)
        optimizer.set_loss_scale(loss_scale)
        seen = []
        optimizer.add_hook(lambda opt: seen.append(float(abs(opt.target.l2.b.grad).max())),
                           name='record')
        optimizer.update(_squared_error, model, x, t)
        results.append((model, seen[0]))
    (plain, plain_grad), (scaled, scaled_grad) = results
    assert scaled_grad == pytest.approx(plain_grad, rel=1e-5)  # hooks see true gradients
    for (path, param), (_, other) in zip(plain.namedparams(), scaled.namedparams()):
        assert_allclose(other.data, param.data, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match='SGD.set_loss_scale: loss_scale must be positive, got 0'):
        optimizers.SGD().set_loss_scale(0)
