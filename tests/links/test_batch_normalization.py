import numpy
import pytest

import dchain
import dchain.links as L
from dchain import using_config
from dchain.testing import assert_allclose, check_backward

TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-4, rtol=1e-3),
       numpy.float64: dict(atol=1e-6, rtol=1e-5)}

# (input shape, size, axis, the axes averaged over)
CASES = [
    ((5, 3), 3, None, (0,)),
    ((4, 3, 2, 5), 3, None, (0, 2, 3)),
    ((4, 3, 2), (3, 2), None, (0,)),
    ((4, 3, 5), None, None, (0, 2)),
    ((4, 3, 5), None, (0, 2), (0, 2)),
    ((6, 2, 3), None, 0, (0,)),
    ((2, 4, 3, 3), None, (0, 2, 3), (0, 2, 3)),
]


def _device(xp):
    return '@numpy' if xp is numpy else '@cupy:0'


def _cpu(x):
    # A Variable's array; not getattr(x, 'data'), which is a memory pointer on a cupy array.
    return numpy.asarray(dchain.backend.to_cpu(dchain.as_array(x)), numpy.float64)


def _expand(p, axes):
    return numpy.expand_dims(_cpu(p), axes)


def normalize_reference(x, gamma, beta, mean, var, eps, axes):
    return (_expand(gamma, axes) * (x - _expand(mean, axes)) /
            numpy.sqrt(_expand(var, axes) + eps) + _expand(beta, axes))


def _batch(xp, rng, shape, dtype, shift=0.0):
    return xp.asarray(rng.normal(shift, 2.0, shape), dtype=dtype)


@pytest.mark.parametrize('shape,size,axis,axes', CASES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_training_forward_and_running_averages(xp, rng, shape, size, axis, axes, dtype):
    decay = 0.8
    link = L.BatchNormalization(size, decay=decay, dtype=dtype, axis=axis,
                                initial_gamma=dchain.initializers.Uniform(1.0),
                                initial_beta=dchain.initializers.Uniform(1.0))
    link.to_device(_device(xp))  # before lazy initialization too: arrays are made there
    channels = tuple(n for i, n in enumerate(shape) if i not in axes)
    running_mean, running_var = numpy.zeros(channels), numpy.ones(channels)
    for step in range(3):
        x = _batch(xp, rng, shape, dtype, shift=step)
        y = link(x)
        assert y.shape == shape and y.dtype == dtype
        assert link.gamma.shape == channels and link.avg_mean.shape == channels
        assert link.avg_mean.dtype == dtype and link.N == 0
        x64 = _cpu(x)
        mean, var = x64.mean(axis=axes), x64.var(axis=axes)
        expected = normalize_reference(x64, link.gamma, link.beta, mean, var, link.eps, axes)
        assert_allclose(y.data, expected, **TOL[dtype])
        count = x64.size // mean.size
        running_mean = decay * running_mean + (1 - decay) * mean
        running_var = decay * running_var + (1 - decay) * var * count / (count - 1)
        assert_allclose(link.avg_mean, running_mean, **TOL[dtype])
        assert_allclose(link.avg_var, running_var, **TOL[dtype])


@pytest.mark.parametrize('shape,size,axis,axes', CASES[:4])
def test_test_mode_uses_the_running_averages(xp, rng, shape, size, axis, axes):
    link = L.BatchNormalization(size, axis=axis, dtype=numpy.float64).to_device(_device(xp))
    for step in range(2):
        link(_batch(xp, rng, shape, numpy.float64, shift=step))
    link.gamma.data[...] = 1.5
    link.beta.data[...] = -0.5
    mean, var = link.avg_mean.copy(), link.avg_var.copy()
    x = _batch(xp, rng, shape, numpy.float64)
    with using_config('train', False):
        y = link(x)
    assert_allclose(y.data, normalize_reference(_cpu(x), link.gamma, link.beta, mean, var,
                                                link.eps, axes))
    assert (link.avg_mean == mean).all() and (link.avg_var == var).all()  # left alone
    with using_config('train', False):
        check_backward(link, x, _batch(xp, rng, shape, numpy.float64),
                       params=(link.gamma, link.beta), atol=1e-5, rtol=1e-4)


def test_finetune_accumulates_the_exact_average(xp, rng):
    link = L.BatchNormalization(3, dtype=numpy.float64).to_device(_device(xp))
    link(_batch(xp, rng, (8, 3), numpy.float64))  # ordinary training first
    link.start_finetuning()
    assert link.N == 0
    means, variances = [], []
    for step in range(4):
        x = _batch(xp, rng, (8, 3), numpy.float64, shift=step)
        y = link(x, finetune=True)
        means.append(_cpu(x).mean(axis=0))
        variances.append(_cpu(x).var(axis=0) * 8 / 7)
        assert link.N == step + 1
        assert_allclose(y.data, normalize_reference(_cpu(x), link.gamma, link.beta, means[-1],
                                                    _cpu(x).var(axis=0), link.eps, (0,)))
    assert_allclose(link.avg_mean, numpy.mean(means, axis=0))
    assert_allclose(link.avg_var, numpy.mean(variances, axis=0))
    link.start_finetuning()
    link(_batch(xp, rng, (8, 3), numpy.float64), finetune=True)
    assert link.N == 1


@pytest.mark.parametrize('shape,size,axis,axes', [CASES[1], CASES[2], CASES[4]])
def test_backward_in_training(xp, rng, shape, size, axis, axes):
    link = L.BatchNormalization(size, axis=axis, dtype=numpy.float64,
                                initial_gamma=dchain.initializers.Uniform(1.0))
    link.to_device(_device(xp))
    x = _batch(xp, rng, shape, numpy.float64)
    check_backward(link, x, _batch(xp, rng, shape, numpy.float64),
                   params=(link.gamma, link.beta), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize('use_gamma,use_beta', [(False, True), (True, False), (False, False)])
def test_without_gamma_or_beta(rng, use_gamma, use_beta):
    link = L.BatchNormalization(4, use_gamma=use_gamma, use_beta=use_beta)
    names = sorted(p for p, _ in link.namedparams())
    assert names == sorted(['/gamma'] * use_gamma + ['/beta'] * use_beta)
    assert (link.gamma is None) != use_gamma and (link.beta is None) != use_beta
    if use_beta:
        link.beta.data[...] = 2.0
    x = rng.normal(0, 3, (6, 4)).astype(numpy.float32)
    y = link(x)
    expected = (x - x.mean(axis=0)) / numpy.sqrt(x.var(axis=0) + 2e-5) + (2.0 if use_beta else 0)
    assert_allclose(y.data, expected, atol=1e-4, rtol=1e-4)
    with using_config('train', False):
        assert link(x).shape == (6, 4)


def test_defaults_initial_values_and_persistents():
    link = L.BatchNormalization(3)
    assert link.decay == 0.9 and link.eps == 2e-5 and link.axis is None
    assert link.gamma.dtype == numpy.float32 and (link.gamma.data == 1).all()
    assert (link.beta.data == 0).all()
    assert (link.avg_mean == 0).all() and (link.avg_var == 1).all() and link.N == 0
    assert link._persistent == ['avg_mean', 'avg_var', 'N']
    custom = L.BatchNormalization(2, initial_gamma=3.0, initial_beta=numpy.array([1.0, 2.0]),
                                  initial_avg_mean=numpy.array([0.5, -0.5]), initial_avg_var=4.0)
    assert (custom.gamma.data == 3).all() and (custom.beta.data == [1, 2]).all()
    assert (custom.avg_mean == [0.5, -0.5]).all() and (custom.avg_var == 4).all()
    assert custom.avg_mean.dtype == numpy.float32
    lazy = L.BatchNormalization()
    assert lazy.avg_mean is None and lazy.gamma.data is None
    lazy(numpy.ones((2, 5, 3, 3), numpy.float32))
    assert lazy.gamma.shape == (5,) and lazy.avg_var.shape == (5,)


def test_serialize_saves_averages_and_count(rng):
    link = L.BatchNormalization(3)
    link(rng.normal(0, 1, (4, 3)).astype(numpy.float32), finetune=True)
    saved = {}

    def save(key, value):
        saved[key] = numpy.array(value)
        return value

    link.serialize(save)
    assert sorted(saved) == ['N', 'avg_mean', 'avg_var', 'beta', 'gamma']
    assert saved['N'] == 1

    def load(key, value):
        if value is None:
            return saved[key].copy()
        if isinstance(value, numpy.ndarray):
            value[...] = saved[key]
            return value
        return type(value)(saved[key])

    fresh = L.BatchNormalization()
    fresh.serialize(load)
    assert fresh.N == 1 and fresh.gamma.shape == (3,)
    assert (fresh.avg_mean == link.avg_mean).all() and (fresh.avg_var == link.avg_var).all()


def test_errors():
    with pytest.raises(ValueError, match='BatchNormalization: decay must be in \\[0, 1\\], got '
                                         '1.5'):
        L.BatchNormalization(3, decay=1.5)
    with pytest.raises(ValueError, match='BatchNormalization: eps must be positive, got 0'):
        L.BatchNormalization(3, eps=0)
    with pytest.raises(TypeError, match='BatchNormalization: dtype must be a float dtype, got '
                                        'int32'):
        L.BatchNormalization(3, dtype=numpy.int32)
    with pytest.raises(ValueError, match=r'BatchNormalization: x must have a batch axis and a '
                                         r'channel axis to infer size, got shape \(4,\)'):
        L.BatchNormalization()(numpy.ones(4, numpy.float32))


@pytest.mark.parametrize('fmt', ['npz', 'hdf5'])
def test_saved_files_hold_the_statistics(tmp_path, rng, fmt):
    from dchain import serializers
    model = dchain.Chain(bn=L.BatchNormalization(3))
    for step in range(3):
        model.bn(rng.normal(step, 2, (6, 3)).astype(numpy.float32), finetune=True)
    path = str(tmp_path / ('model.' + fmt))
    getattr(serializers, 'save_' + fmt)(path, model)
    if fmt == 'npz':
        with numpy.load(path) as stored:
            assert sorted(stored.files) == ['bn/N', 'bn/avg_mean', 'bn/avg_var', 'bn/beta',
                                            'bn/gamma']
            assert_allclose(stored['bn/avg_var'], model.bn.avg_var)
    fresh = dchain.Chain(bn=L.BatchNormalization(3))
    getattr(serializers, 'load_' + fmt)(path, fresh)
    assert fresh.bn.N == 3
    x = rng.normal(0, 1, (4, 3)).astype(numpy.float32)
    with using_config('train', False):
        assert (fresh.bn(x).data == model.bn(x).data).all()


def test_an_empty_batch_leaves_the_running_averages():
    # statistics of zero samples are NaN: an empty batch normalizes nothing
    bn = L.BatchNormalization(3)
    x = dchain.Variable(numpy.zeros((0, 3), numpy.float32))
    y = bn(x)
    assert y.shape == (0, 3)
    y.grad = numpy.zeros((0, 3), numpy.float32)
    y.backward()
    assert x.grad.shape == (0, 3)
    numpy.testing.assert_array_equal(bn.avg_mean, numpy.zeros(3, numpy.float32))
    numpy.testing.assert_array_equal(bn.avg_var, numpy.ones(3, numpy.float32))
