"""Mixed precision in the optimizers: float32 master copies of float16 parameters
(use_fp32_update) and dynamic loss scaling (loss_scaling)."""
import io
import math

import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import optimizers, serializers


class Weights(dchain.Chain):
    def __init__(self, values, dtype):
        super().__init__()
        with self.init_scope():
            self.w = dchain.Parameter(numpy.array(values, dtype))


def step_with(optimizer, grad):
    param = optimizer.target.w
    param.grad = numpy.array(grad, param.dtype)
    optimizer.update()


@pytest.mark.parametrize('make', [lambda: optimizers.SGD(lr=1.0),
                                  lambda: optimizers.MomentumSGD(lr=0.5),
                                  lambda: optimizers.Adam(alpha=1e-4)])
def test_master_copy_follows_the_float32_update_exactly(make):
    grads = numpy.random.default_rng(0).standard_normal((6, 5)).astype(numpy.float16) * 1e-3
    values = numpy.linspace(-1, 1, 5)
    half = Weights(values, numpy.float16)
    optimizer = make().setup(half)
    optimizer.use_fp32_update()
    full = Weights(values.astype(numpy.float16), numpy.float32)  # the same starting values
    reference = make().setup(full)
    for grad in grads:
        step_with(optimizer, grad)
        step_with(reference, grad.astype(numpy.float32))
    rule = half.w.update_rule
    assert rule.fp32_param.dtype == numpy.float32
    assert all(state.dtype == numpy.float32 for state in rule.state.values())
    numpy.testing.assert_array_equal(rule.fp32_param.data, full.w.data)
    numpy.testing.assert_array_equal(half.w.data, full.w.data.astype(numpy.float16))
    assert half.w.data.dtype == numpy.float16


def test_small_steps_accumulate_in_the_master_copy_and_not_without_it():
    updated = {}
    for fp32_update in (False, True):
        model = Weights([1.0], numpy.float16)
        optimizer = optimizers.SGD(lr=1.0).setup(model)
        optimizer.use_fp32_update(fp32_update)
        for _ in range(20):
            step_with(optimizer, [1e-4])  # each step is below float16's spacing at 1.0
        updated[fp32_update] = float(model.w.data[0])
    assert updated[False] == 1.0
    assert updated[True] == pytest.approx(0.998, abs=1e-3)


def test_master_copy_is_saved_loaded_and_remade_for_a_replaced_parameter():
    model = Weights([0.5, -0.25], numpy.float16)
    optimizer = optimizers.Adam(alpha=1e-3).setup(model)
    optimizer.use_fp32_update()
    for _ in range(3):
        step_with(optimizer, [1e-3, -2e-3])
    stream = io.BytesIO()
    serializers.save_npz(stream, optimizer)
    master = model.w.update_rule.fp32_param.data.copy()
    resumed_model = Weights([0.5, -0.25], numpy.float16)
    resumed = optimizers.Adam(alpha=1e-3).setup(resumed_model)
    resumed.use_fp32_update()
    stream.seek(0)
    serializers.load_npz(stream, resumed)
    numpy.testing.assert_array_equal(resumed_model.w.update_rule.fp32_param.data, master)
    resumed_model.w.data[...] = model.w.data
    step_with(optimizer, [1e-3, -2e-3])
    step_with(resumed, [1e-3, -2e-3])
    numpy.testing.assert_array_equal(resumed_model.w.update_rule.fp32_param.data,
                                     model.w.update_rule.fp32_param.data)
    # a parameter given a new array starts a new master copy from it
    model.w.data = numpy.array([2.0, 2.0], numpy.float16)
    step_with(optimizer, [0.0, 0.0])
    assert model.w.update_rule.fp32_param.data[0] == pytest.approx(2.0, abs=1e-3)


def test_loss_scale_is_removed_in_float32_where_float16_would_flush_it():
    model = Weights([0.0], numpy.float16)
    optimizer = optimizers.SGD(lr=1.0).setup(model)
    optimizer.use_fp32_update()
    optimizer.set_loss_scale(1024.0)
    # the gradient 3 * 2**-25 lies between float16's subnormals 2**-24 and 2**-23: scaled by
    # 1024 it is a normal float16, and dividing in float16 would round it
    gradient = 3 * 2.0 ** -25
    assert float(numpy.float16(gradient * 1024) / numpy.float16(1024)) != gradient
    optimizer.update(lambda: F.sum(model.w * (3 * 2.0 ** -13) * 2.0 ** -12))
    assert model.w.update_rule.fp32_param.data[0] == pytest.approx(-gradient, rel=1e-6)


def test_rules_created_after_use_fp32_update_get_it_too():
    optimizer = optimizers.SGD()
    optimizer.use_fp32_update()
    optimizer.setup(Weights([1.0], numpy.float16))
    assert optimizer.target.w.update_rule._use_fp32_update


def test_mixed16_model_trains_like_float32():
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((64, 8)).astype(numpy.float32)
    t = (x[:, 0] > 0).astype(numpy.int32)
    losses = {}
    for dtype in ('float32', 'mixed16'):
        with dchain.using_config('dtype', dchain.mixed16 if dtype == 'mixed16' else dtype):
            dchain.random.seed(0)
            model = L.Classifier(L.Linear(8, 2))
            optimizer = optimizers.Adam(alpha=0.05).setup(model)
            if dtype == 'mixed16':
                optimizer.use_fp32_update()
                optimizer.loss_scaling()
            inputs = x.astype(model.predictor.W.dtype)
            for _ in range(30):
                optimizer.update(model, inputs, t)
            losses[dtype] = float(model(inputs, t).array)
    assert losses['mixed16'] == pytest.approx(losses['float32'], abs=0.02)
    assert losses['float32'] < 0.3


# -- dynamic loss scaling ------------------------------------------------------------------------
def scaled_steps(optimizer, model, factors):
    """One update per factor: the loss is factor * sum(w); an inf factor overflows."""
    scales = []
    for factor in factors:
        optimizer.update(lambda: F.sum(model.w * factor))
        scales.append(optimizer.loss_scale)
    return scales


def test_dynamic_scale_grows_halves_on_overflow_and_skips_the_step():
    model = Weights([1.0, 2.0], numpy.float32)
    optimizer = optimizers.SGD(lr=0.1).setup(model)
    optimizer.loss_scaling(interval=4)
    assert optimizer.loss_scale == 1.0
    scales = scaled_steps(optimizer, model, [1.0, 1.0, 1.0])
    assert scales == [2.0, 4.0, 8.0]  # doubles every good step until the first overflow
    before = model.w.data.copy()
    t, rule_t = optimizer.t, model.w.update_rule.t
    with pytest.warns(UserWarning, match='non-finite gradient of /w'):
        scales = scaled_steps(optimizer, model, [numpy.inf])
    assert scales == [4.0]
    numpy.testing.assert_array_equal(model.w.data, before)  # skipped
    assert (optimizer.t, model.w.update_rule.t) == (t + 1, rule_t)
    scales = scaled_steps(optimizer, model, [1.0] * 4)
    assert scales == pytest.approx([4.0 * 2 ** (k / 4) for k in range(1, 5)])  # x2 over 4 steps
    numpy.testing.assert_allclose(model.w.data, before - 0.1 * 4, rtol=1e-6)


def test_dynamic_scale_stays_between_1_and_the_largest_float16():
    model = Weights([1.0], numpy.float32)
    optimizer = optimizers.SGD().setup(model)
    optimizer.loss_scaling()
    assert scaled_steps(optimizer, model, [1.0] * 20)[-1] == 65504.0
    with pytest.warns(UserWarning):
        assert scaled_steps(optimizer, model, [math.nan] * 20)[-1] == 1.0


def test_dynamic_scale_is_saved_and_static_scaling_stays_static():
    model = Weights([1.0], numpy.float32)
    optimizer = optimizers.SGD().setup(model)
    optimizer.loss_scaling()
    scaled_steps(optimizer, model, [1.0] * 3)
    saved = {}
    serializers.DictionarySerializer(saved).save(optimizer)
    other = optimizers.SGD().setup(Weights([1.0], numpy.float32))
    other.loss_scaling()
    serializers.NpzDeserializer(saved).load(other)
    assert other.loss_scale == 8.0
    other.loss_scaling(scale=16.0)
    scaled_steps(other, other.target, [1.0, numpy.inf])  # static: no check, no change
    assert other.loss_scale == 16.0
    with pytest.raises(ValueError, match='interval must be an int >= 1'):
        other.loss_scaling(interval=0)
    with pytest.raises(ValueError, match='loss_scale must be positive'):
        other.loss_scaling(scale=-1.0)
