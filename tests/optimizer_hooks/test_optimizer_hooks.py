"""WeightDecay, Lasso, GradientClipping and GradientHardClipping, and hook timing."""
import numpy
import pytest

import dchain
from dchain import optimizer_hooks, optimizers
from dchain.links.connection.linear import Linear
from dchain.testing import assert_allclose


def _setup(xp, factory=optimizers.SGD, fused=True, **kwargs):
    dchain.random.seed(3)
    model = dchain.Chain(l1=Linear(3, 4), l2=Linear(4, 2))
    model.to_device('@numpy' if xp is numpy else '@cupy:0')
    optimizer = factory(**kwargs)
    optimizer.use_fused = fused
    optimizer.setup(model)
    rng = numpy.random.default_rng(0)
    for param in model.params():
        param.grad = xp.asarray(rng.uniform(-2, 2, param.shape), numpy.float32)
    before = {path: (dchain.backend.to_cpu(p.data).astype(numpy.float64),
                     dchain.backend.to_cpu(p.grad).astype(numpy.float64))
              for path, p in model.namedparams()}
    return model, optimizer, before


@pytest.mark.parametrize('fused', [False, True])
def test_weight_decay(xp, fused):
    model, optimizer, before = _setup(xp, lr=0.1, fused=fused)
    optimizer.add_hook(optimizer_hooks.WeightDecay(0.3))
    optimizer.update()
    for path, param in model.namedparams():
        data, grad = before[path]
        assert_allclose(param.data, data - 0.1 * (grad + 0.3 * data))


@pytest.mark.parametrize('fused', [False, True])
def test_lasso(xp, fused):
    model, optimizer, before = _setup(xp, lr=0.1, fused=fused)
    optimizer.add_hook(optimizer_hooks.Lasso(0.3))
    optimizer.update()
    for path, param in model.namedparams():
        data, grad = before[path]
        assert_allclose(param.data, data - 0.1 * (grad + 0.3 * numpy.sign(data)))


@pytest.mark.parametrize('threshold', [0.5, 1e3])
@pytest.mark.parametrize('fused', [False, True])
def test_gradient_clipping_scales_by_the_global_norm(xp, threshold, fused):
    model, optimizer, before = _setup(xp, lr=1.0, fused=fused)
    optimizer.add_hook(optimizer_hooks.GradientClipping(threshold))
    norm = numpy.sqrt(sum((grad ** 2).sum() for _, grad in before.values()))
    rate = min(1.0, threshold / norm)
    optimizer.update()
    clipped = numpy.sqrt(sum(float((dchain.backend.to_cpu(p.grad).astype(numpy.float64) ** 2)
                                   .sum()) for p in model.params()))
    assert clipped == pytest.approx(min(norm, threshold), rel=1e-5)
    for path, param in model.namedparams():
        data, grad = before[path]
        assert_allclose(param.data, data - rate * grad)


def test_gradient_clipping_of_float16_grads():
    param = dchain.Parameter(numpy.zeros(4, numpy.float16))
    link = dchain.Link()
    with link.init_scope():
        link.w = param
    optimizer = optimizers.SGD(lr=1.0).setup(link)
    optimizer.add_hook(optimizer_hooks.GradientClipping(1.0))
    param.grad = numpy.full(4, 300, numpy.float16)  # 4 * 300**2 overflows float16
    optimizer.update()
    assert_allclose(param.data, numpy.full(4, -0.5), atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize('fused', [False, True])
def test_gradient_hard_clipping(xp, fused):
    model, optimizer, before = _setup(xp, lr=1.0, fused=fused)
    optimizer.add_hook(optimizer_hooks.GradientHardClipping(-0.5, 0.25))
    optimizer.update()
    for path, param in model.namedparams():
        data, grad = before[path]
        assert_allclose(param.data, data - numpy.clip(grad, -0.5, 0.25))
        assert float(param.grad.max()) <= 0.25 and float(param.grad.min()) >= -0.5


def test_post_timing_runs_after_the_update():
    model, optimizer, before = _setup(numpy, lr=1.0)
    optimizer.add_hook(optimizer_hooks.GradientHardClipping(-0.5, 0.25), timing='post')
    optimizer.update()
    for path, param in model.namedparams():
        data, grad = before[path]
        assert_allclose(param.data, data - grad)  # updated with the unclipped gradient
        assert_allclose(param.grad, numpy.clip(grad, -0.5, 0.25))  # clipped after


def test_hooks_run_in_order_with_what_they_are_given():
    model, optimizer, before = _setup(numpy, lr=1.0)
    calls = []

    def whole(opt):
        calls.append(('whole', opt, float(opt.target.l1.b.data[0])))

    class EachParam:
        call_for_each_param = True
        timing = 'post'
        name = 'each'

        def __call__(self, rule, param):
            calls.append(('each', rule is param.update_rule, float(param.data.ravel()[0])))

    optimizer.add_hook(whole)
    optimizer.add_hook(EachParam())
    optimizer.update()
    assert calls[0] == ('whole', optimizer, before['/l1/b'][0][0])
    assert [c[0] for c in calls[1:]] == ['each'] * 4
    assert all(c[1] for c in calls[1:])
    assert calls[2][2] == pytest.approx(before['/l1/b'][0][0] - before['/l1/b'][1][0])
    optimizer.remove_hook('whole')
    optimizer.remove_hook('each')
    calls.clear()
    optimizer.update()
    assert calls == []


def test_add_hook_errors():
    model, optimizer, _ = _setup(numpy)
    hook = optimizer_hooks.WeightDecay(0.1)
    optimizer.add_hook(hook)
    with pytest.raises(KeyError, match="SGD.add_hook: a hook named 'WeightDecay' already exists"):
        optimizer.add_hook(hook)
    optimizer.add_hook(hook, name='decay2')
    with pytest.raises(TypeError, match='SGD.add_hook: hook must be callable, got int'):
        optimizer.add_hook(3)
    with pytest.raises(ValueError, match="SGD.add_hook: timing must be 'pre', 'post' or 'auto', "
                                         "got 'later'"):
        optimizer.add_hook(optimizer_hooks.Lasso(0.1), timing='later')
    with pytest.raises(KeyError, match="SGD.remove_hook: no hook named 'Lasso'"):
        optimizer.remove_hook('Lasso')


@pytest.mark.parametrize('make,error,match', [
    (lambda: optimizer_hooks.WeightDecay('0.1'), TypeError,
     'WeightDecay: rate must be a real number, got str'),
    (lambda: optimizer_hooks.Lasso(None), TypeError, 'Lasso: rate must be a real number'),
    (lambda: optimizer_hooks.GradientClipping(-1), ValueError,
     'GradientClipping: threshold must be non-negative, got -1'),
    (lambda: optimizer_hooks.GradientClipping([1]), TypeError,
     'GradientClipping: threshold must be a real number, got list'),
    (lambda: optimizer_hooks.GradientHardClipping(1, -1), ValueError,
     'GradientHardClipping: lower_bound must not exceed upper_bound, got 1 and -1'),
    (lambda: optimizer_hooks.GradientHardClipping(None, 1), TypeError,
     'GradientHardClipping: lower_bound must be a real number, got NoneType'),
])
def test_hooks_refuse_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_hook_attributes_are_chainers():
    assert optimizer_hooks.WeightDecay(0.1).timing == 'pre'
    assert optimizer_hooks.WeightDecay.call_for_each_param
    assert optimizer_hooks.Lasso.call_for_each_param
    assert optimizer_hooks.GradientHardClipping.call_for_each_param
    assert not getattr(optimizer_hooks.GradientClipping, 'call_for_each_param', False)
    assert optimizer_hooks.GradientClipping.name == 'GradientClipping'


def test_optimizer_module_aliases():
    from dchain import optimizer, optimizer_hooks
    assert optimizer.WeightDecay is optimizer_hooks.WeightDecay
    assert optimizer.GradientClipping is optimizer_hooks.GradientClipping
    assert optimizer.GradientHardClipping is optimizer_hooks.GradientHardClipping
    assert optimizer.Lasso is optimizer_hooks.Lasso
