"""FlatParameters: parameters, gradients and states packed into flat buffers, and the fused
update's handling of arrays replaced or held elsewhere."""
import numpy
import pytest

import dchain
from dchain import optimizers
from dchain.links.connection.linear import Linear
from dchain.optimizers import FlatParameters
from dchain.testing import assert_allclose


def _model(xp):
    dchain.random.seed(2)
    model = dchain.Chain(l1=Linear(3, 4), l2=Linear(4, 2))
    return model.to_device('@numpy' if xp is numpy else '@cupy:0')


def _set_grads(model, rng, xp):
    for param in model.params():
        param.grad = xp.asarray(rng.uniform(-1, 1, param.shape), param.dtype)


def _host(array):
    return dchain.backend.to_cpu(array)


def test_packing_keeps_values_and_rebinds_data_as_views(xp):
    model = _model(xp)
    values = {path: _host(p.data).copy() for path, p in model.namedparams()}
    params = list(model.params())
    assert FlatParameters.can_pack(params)
    flat = FlatParameters(params)
    assert flat.size == 4 * 3 + 4 + 2 * 4 + 2
    assert flat.offsets == [0, 12, 16, 24, 26]
    for path, param in model.namedparams():
        assert_allclose(param.data, values[path], atol=0, rtol=0)
    flat.data[...] = 7  # the parameters see changes of the buffer
    for param in params:
        assert float(param.data.sum()) == 7 * param.size


def test_gather_grads_binds_param_grads_to_the_flat_buffer(xp):
    model = _model(xp)
    params = list(model.params())
    flat = FlatParameters(params)
    _set_grads(model, numpy.random.default_rng(0), xp)
    params[1].grad = None
    expected = numpy.concatenate([_host(p.grad).ravel() if p.grad is not None
                                  else numpy.zeros(p.size, numpy.float32) for p in params])
    flat.gather_grads()
    assert_allclose(flat.grad, expected, atol=0, rtol=0)
    assert flat.grads_bound()
    flat.grad *= 2  # e.g. an allreduce in place
    assert_allclose(params[0].grad, 2 * expected[:12].reshape(4, 3), atol=0, rtol=0)
    assert_allclose(params[1].grad, numpy.zeros(4), atol=0, rtol=0)
    flat.gather_grads()  # already bound: no copy that would undo the change
    assert_allclose(flat.grad, 2 * expected, atol=0, rtol=0)


def _loss(model, x):
    return dchain.functions.sum(model.l2(dchain.functions.tanh(model.l1(x))))


def _plain_grads(x):
    model = _model(numpy)
    _loss(model, x).backward()
    return {path: p.grad.copy() for path, p in model.namedparams()}


def test_bind_backward_writes_the_gradients_into_the_flat_buffer():
    x = numpy.random.default_rng(1).uniform(-1, 1, (5, 3)).astype(numpy.float32)
    expected = _plain_grads(x)
    model = _model(numpy)
    params = list(model.params())
    flat = FlatParameters(params)
    flat.bind_backward()
    for step in range(2):
        model.cleargrads()
        _loss(model, x).backward()
        assert flat.grads_bound()        # nothing left for gather_grads to copy
        for path, param in model.namedparams():
            assert_allclose(param.grad, expected[path], atol=0, rtol=0)
    # a second backward without cleargrads adds up, as without the binding
    _loss(model, x).backward()
    for path, param in model.namedparams():
        assert_allclose(param.grad, 2 * expected[path], atol=0, rtol=0)
    flat.gather_grads()
    assert_allclose(flat.grad, 2 * numpy.concatenate(
        [expected[path].ravel() for path, _ in model.namedparams()]), atol=0, rtol=0)


def test_bound_buffers_are_left_alone_by_grad_and_by_shared_gradients():
    x = numpy.random.default_rng(1).uniform(-1, 1, (5, 3)).astype(numpy.float32)
    expected = _plain_grads(x)
    model = _model(numpy)
    flat = FlatParameters(list(model.params()))
    flat.bind_backward()
    _loss(model, x).backward()
    held = flat.grad.copy()
    # dchain.grad (e.g. a gradient penalty) must not overwrite the parameters' gradients
    gw, = dchain.grad([_loss(model, 2 * x)], [model.l1.W])
    assert not numpy.array_equal(gw.array, expected['/l1/W'])
    assert_allclose(flat.grad, held, atol=0, rtol=0)
    # one gradient Variable delivered to two inputs (an addition): only the bound parameter
    # gets its view; the other input keeps a gradient of its own
    model.cleargrads()
    other = dchain.Variable(numpy.zeros(2, numpy.float32))
    dchain.functions.sum(model.l2.b + other).backward()
    assert flat.grads_bound() is False          # the others have no gradient
    assert numpy.shares_memory(model.l2.b.grad, flat.grad)
    assert not numpy.shares_memory(other.grad, flat.grad)
    assert_allclose(other.grad, numpy.ones(2), atol=0, rtol=0)


def test_views_and_can_pack_refusals():
    model = _model(numpy)
    params = list(model.params())
    flat = FlatParameters(params)
    views = flat.views(numpy.arange(flat.size, dtype=numpy.float32))
    assert [v.shape for v in views] == [(4, 3), (4,), (2, 4), (2,)]
    assert views[1][0] == 12
    mixed = _model(numpy)
    mixed.l2.b.data = mixed.l2.b.data.astype(numpy.float64)
    assert not FlatParameters.can_pack(list(mixed.params()))
    held = _model(numpy)
    keep = held.l1.W.data  # noqa: F841  (held elsewhere: rebinding would leave it stale)
    assert not FlatParameters.can_pack(list(held.params()))


@pytest.mark.parametrize('factory', [optimizers.SGD, optimizers.Adam])
def test_states_are_views_of_the_flat_state_buffers(factory):
    model = _model(numpy)
    optimizer = factory().setup(model)
    _set_grads(model, numpy.random.default_rng(0), numpy)
    optimizer.update()
    flat = optimizer.fused_parameters()
    assert flat is not None
    assert sorted(flat.states) == sorted(model.l1.W.update_rule.state)
    for name, buffer in flat.states.items():
        for param, view in zip(flat.params, flat.views(buffer)):
            assert param.update_rule.state[name].base is buffer
            assert numpy.shares_memory(param.update_rule.state[name], view)


def _reference_run(replace):
    """Three Adam steps, fused and per parameter, with ``replace(model)`` between steps."""
    results = []
    for fused in (True, False):
        model = _model(numpy)
        optimizer = optimizers.Adam(alpha=0.05)
        optimizer.use_fused = fused
        optimizer.setup(model)
        rng = numpy.random.default_rng(0)
        for step in range(3):
            _set_grads(model, rng, numpy)
            optimizer.update()
            if step == 0:
                replace(model)
        results.append((model, optimizer))
    return results


def test_a_replaced_parameter_array_is_taken_back():
    def replace(model):
        model.l1.W.data = numpy.full((4, 3), 0.5, numpy.float32)

    (fused, optimizer), (plain, _) = _reference_run(replace)
    flat = optimizer.fused_parameters()
    assert numpy.shares_memory(fused.l1.W.data, flat.data)
    for (path, param), (_, other) in zip(fused.namedparams(), plain.namedparams()):
        numpy.testing.assert_array_equal(param.data, other.data, err_msg=path)


def test_a_parameter_of_a_new_shape_rebuilds_the_buffers():
    def replace(model):
        model.l2.b.data = numpy.zeros(5, numpy.float32)
        model.l2.b.update_rule._state = None

    (fused, optimizer), (plain, _) = _reference_run(replace)
    assert optimizer.fused_parameters().size == 4 * 3 + 4 + 2 * 4 + 5
    for (path, param), (_, other) in zip(fused.namedparams(), plain.namedparams()):
        numpy.testing.assert_array_equal(param.data, other.data, err_msg=path)


def test_arrays_held_elsewhere_keep_being_updated_in_place():
    model = _model(numpy)
    W = model.l1.W.data
    shared = model.copy(mode='share')  # Chainer's idiom for an evaluation model
    optimizer = optimizers.SGD(lr=1.0).setup(model)
    _set_grads(model, numpy.random.default_rng(0), numpy)
    grad = model.l1.W.grad.copy()
    before = W.copy()
    optimizer.update()
    assert model.l1.W.data is W
    assert_allclose(W, before - grad)
    assert_allclose(shared.l2.b.data, model.l2.b.data)
    assert optimizer.fused_parameters() is None


def test_copies_shared_after_packing_follow_the_updates():
    model = _model(numpy)
    optimizer = optimizers.MomentumSGD().setup(model)
    rng = numpy.random.default_rng(0)
    _set_grads(model, rng, numpy)
    optimizer.update()
    assert optimizer.fused_parameters() is not None
    shared = model.copy(mode='share')
    for _ in range(2):
        _set_grads(model, rng, numpy)
        optimizer.update()
    assert optimizer.fused_parameters() is not None
    for (path, param), (_, other) in zip(model.namedparams(), shared.namedparams()):
        assert other.data is param.data, path


def test_loaded_state_arrays_are_copied_into_the_buffers():
    model = _model(numpy)
    optimizer = optimizers.MomentumSGD(lr=0.1, momentum=0.5).setup(model)
    rng = numpy.random.default_rng(0)
    _set_grads(model, rng, numpy)
    optimizer.update()
    rule = model.l2.W.update_rule
    rule.state['v'] = numpy.full((2, 4), 3.0, numpy.float32)  # as a deserializer may do
    before = model.l2.W.data.copy()
    model.l2.W.grad = numpy.zeros((2, 4), numpy.float32)
    optimizer.update()
    flat = optimizer.fused_parameters()
    assert numpy.shares_memory(rule.state['v'], flat.states['v'])
    assert_allclose(rule.state['v'], numpy.full((2, 4), 1.5))
    assert_allclose(model.l2.W.data, before + 1.5)


@pytest.mark.parametrize('shapes', [[(0,), (3,)], [(0,)], [(2, 0), (1,), (0,)]])
def test_empty_parameters(shapes):
    link = dchain.Link()
    with link.init_scope():
        for i, shape in enumerate(shapes):
            setattr(link, 'p{}'.format(i), dchain.Parameter(numpy.ones(shape)))
    optimizer = optimizers.SGD(lr=0.5).setup(link)
    for param in link.params():
        param.grad = numpy.ones(param.shape)
    optimizer.update()
    assert optimizer.fused_parameters() is not None
    for param in link.params():
        assert_allclose(param.data, numpy.full(param.shape, 0.5))
