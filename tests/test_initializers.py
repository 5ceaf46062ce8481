import math

import numpy
import pytest

import dchain
import dchain.links as L
from dchain import initializers
from dchain.testing import assert_allclose

SHAPE = (400, 250)  # fan_in 250, fan_out 400: 100,000 draws
FAN_IN, FAN_OUT = 250, 400
CONV_SHAPE = (64, 16, 3, 3)  # fan_in 16*9 = 144, fan_out 64*9 = 576

# (initializer, normal std or uniform bound)
NORMALS = [
    (lambda: initializers.Normal(), 0.05),
    (lambda: initializers.Normal(scale=0.3), 0.3),
    (lambda: initializers.LeCunNormal(), math.sqrt(1 / FAN_IN)),
    (lambda: initializers.LeCunNormal(scale=2.0), 2 * math.sqrt(1 / FAN_IN)),
    (lambda: initializers.GlorotNormal(), math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (lambda: initializers.HeNormal(), math.sqrt(2 / FAN_IN)),
    (lambda: initializers.HeNormal(fan_option='fan_out'), math.sqrt(2 / FAN_OUT)),
]
UNIFORMS = [
    (lambda: initializers.Uniform(), 0.05),
    (lambda: initializers.Uniform(scale=2.0), 2.0),
    (lambda: initializers.LeCunUniform(), math.sqrt(3 / FAN_IN)),
    (lambda: initializers.GlorotUniform(), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (lambda: initializers.GlorotUniform(scale=0.5), 0.5 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (lambda: initializers.HeUniform(), math.sqrt(6 / FAN_IN)),
]


@pytest.fixture(autouse=True)
def seeded():
    """Statistics are checked on a fixed draw, so a test never fails by chance."""
    dchain.random.seed(0)


def _fill(initializer, xp, shape=SHAPE, dtype=numpy.float32):
    array = xp.empty(shape, dtype)
    initializer(array)
    return numpy.asarray(dchain.backend.to_cpu(array), numpy.float64)


@pytest.mark.parametrize('make,std', NORMALS)
def test_normal_statistics(xp, make, std):
    values = _fill(make(), xp)
    # The standard error of the mean is std / sqrt(1e5) ~ std / 316.
    assert abs(values.mean()) < 5 * std / math.sqrt(values.size)
    assert abs(values.std() / std - 1) < 0.02
    # A normal law puts about 68.3% of draws within one standard deviation.
    assert abs((numpy.abs(values) < std).mean() - 0.6827) < 0.01


@pytest.mark.parametrize('make,bound', UNIFORMS)
def test_uniform_statistics(xp, make, bound):
    values = _fill(make(), xp)
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.99 * bound and values.max() > 0.99 * bound
    assert abs(values.mean()) < 5 * bound / math.sqrt(3 * values.size)
    assert abs(values.std() / (bound / math.sqrt(3)) - 1) < 0.02


def test_fans_of_convolution_kernels(xp):
    values = _fill(initializers.HeNormal(), xp, CONV_SHAPE)
    assert abs(values.std() / math.sqrt(2 / 144) - 1) < 0.03
    values = _fill(initializers.GlorotUniform(), xp, CONV_SHAPE)
    bound = math.sqrt(6 / (144 + 576))
    assert values.max() <= bound and values.max() > 0.99 * bound


@pytest.mark.parametrize('make,expected', [
    (lambda: initializers.Constant(2.5), numpy.full((3, 4), 2.5)),
    (lambda: initializers.Constant(numpy.arange(4.0)), numpy.tile(numpy.arange(4.0), (3, 1))),
    (lambda: initializers.Zero(), numpy.zeros((3, 4))),
    (lambda: initializers.One(), numpy.ones((3, 4))),
])
def test_constants(xp, make, expected):
    assert (_fill(make(), xp, (3, 4)) == expected).all()


def test_nan_and_identity(xp):
    assert numpy.isnan(_fill(initializers.NaN(), xp, (2, 3))).all()
    assert (_fill(initializers.Identity(scale=3.0), xp, (4, 4)) == 3 * numpy.eye(4)).all()


@pytest.mark.parametrize('shape', [(5, 20), (20, 5), (8, 2, 3, 3)])
def test_orthogonal(xp, shape):
    values = _fill(initializers.Orthogonal(), xp, shape).reshape(shape[0], -1)
    rows, cols = values.shape
    gram = values @ values.T if rows <= cols else values.T @ values
    assert_allclose(gram, 1.1 ** 2 * numpy.eye(min(rows, cols)), atol=1e-5)  # Chainer's scale
    values = _fill(initializers.Orthogonal(scale=0.5), xp, (6, 6))
    assert_allclose(values @ values.T, 0.25 * numpy.eye(6), atol=1e-6)


@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_generate_array_dtypes(dtype):
    assert initializers.generate_array(initializers.Normal(dtype=dtype), (3, 2)).dtype == dtype
    assert initializers.generate_array(initializers.Normal(), (3, 2), dtype=dtype).dtype == dtype
    assert initializers.generate_array(initializers.One(), (2,)).dtype == numpy.float32
    # A scalar, an array or None are accepted wherever an initializer is.
    assert (initializers.generate_array(7.0, (2,)) == 7).all()
    assert (initializers.generate_array(numpy.arange(3.0), (3,)) == [0, 1, 2]).all()
    assert initializers.generate_array(None, (2, 2)).shape == (2, 2)  # LeCunNormal


@pytest.mark.parametrize('dtype, expected, statistics', [
    (numpy.float16, numpy.float16, numpy.float16),
    (numpy.float64, numpy.float64, numpy.float64),
    (dchain.mixed16, numpy.float16, numpy.float32)])
def test_config_dtype_is_the_default_of_initializers_and_links(dtype, expected, statistics):
    with dchain.using_config('dtype', dtype):
        assert initializers.generate_array(initializers.Normal(), (3, 2)).dtype == expected
        assert initializers.generate_array(0.5, (2,)).dtype == expected
        linear = L.Linear(3, 2)
        embed = L.EmbedID(4, 2)
        lazy = L.Linear(2)
        bn = L.BatchNormalization(3)
    assert linear.W.dtype == expected and linear.b.dtype == expected
    assert embed.W.dtype == expected
    assert bn.gamma.dtype == statistics and bn.avg_mean.dtype == statistics
    # a lazily initialized parameter takes config.dtype at the time of its first call
    with dchain.using_config('dtype', dtype):
        lazy(numpy.zeros((1, 3), dtype=expected))
    assert lazy.W.dtype == expected
    # an explicit dtype wins over config.dtype
    with dchain.using_config('dtype', dtype):
        assert initializers.generate_array(initializers.Normal(dtype=numpy.float32),
                                           (2,)).dtype == numpy.float32


def test_generate_array_refuses_conflicting_dtypes():
    with pytest.raises(ValueError, match='generate_array: dtype float64 differs'):
        initializers.generate_array(initializers.Normal(dtype=numpy.float32), (2,),
                                    dtype=numpy.float64)


def test_seed_gives_identical_models():
    def build():
        return dchain.Chain(l1=L.Linear(6, 5), l2=L.Linear(5, 3, initialW=initializers.HeUniform()),
                            l3=L.Linear(3, 3, initialW=initializers.Orthogonal()))

    dchain.random.seed(0)
    first = build()
    dchain.random.seed(0)
    second = build()
    dchain.random.seed(1)
    third = build()
    for (path, a), (_, b), (_, c) in zip(first.namedparams(), second.namedparams(),
                                         third.namedparams()):
        assert (a.data == b.data).all(), path
        if path.endswith('W'):
            assert not (a.data == c.data).all(), path


@pytest.mark.parametrize('seed', [numpy.random.seed, dchain.random.seed])
def test_numpy_seed_gives_identical_models_and_iterator_orders(seed):
    """Chainer programs call numpy.random.seed(n) to make runs repeatable: it covers dchain's
    initializers, dropout and shuffling iterators, as dchain.random.seed(n) does."""
    def run():
        model = dchain.Chain(l1=L.Linear(6, 5), l2=L.EmbedID(4, 3))
        mask = dchain.functions.dropout(numpy.ones((20,), numpy.float32), 0.5).array
        iterator = dchain.iterators.SerialIterator(list(range(10)), 10)
        weights = [p.array for name, p in model.namedparams() if name.endswith('W')]
        return weights + [mask, numpy.array(iterator.next())]

    dchain.random.seed(None)  # follow NumPy's global state (the default)
    seed(5)
    first = run()
    seed(5)
    second = run()
    seed(6)
    third = run()
    for a, b, c in zip(first, second, third):
        numpy.testing.assert_array_equal(a, b)
        assert not numpy.array_equal(a, c)


def test_gpu_and_cpu_initialize_alike(xp):
    dchain.random.seed(None)
    numpy.random.seed(2)
    cpu = _fill(initializers.HeNormal(), numpy, (4, 3))
    numpy.random.seed(2)
    numpy.testing.assert_array_equal(_fill(initializers.HeNormal(), xp, (4, 3)), cpu)
    numpy.random.seed(2)
    on_host = L.Linear(3, 4)
    numpy.random.seed(2)
    lazy = L.Linear(4).to_device('@numpy' if xp is numpy else '@cupy:0')
    lazy(xp.ones((1, 3), numpy.float32))  # initialized on the device, drawn on the host
    numpy.testing.assert_array_equal(dchain.backend.to_cpu(lazy.W.array), on_host.W.array)


def test_dchain_seed_gives_dchain_its_own_generator():
    """dchain.random.seed(n) makes dchain's draws repeatable whatever else draws from NumPy's
    global state; seed(None) returns to following NumPy's global state."""
    def draw():
        return initializers.generate_array(initializers.Normal(), (5,))

    dchain.random.seed(3)
    numpy.random.seed(0)
    first = draw()
    dchain.random.seed(3)
    numpy.random.seed(1)
    numpy.random.random_sample(7)
    numpy.testing.assert_array_equal(draw(), first)
    dchain.random.seed(None)
    numpy.random.seed(0)
    following = draw()
    numpy.random.seed(0)
    expected = numpy.random.normal(0.0, 0.05, 5).astype(numpy.float32)
    numpy.testing.assert_array_equal(following, expected)


@pytest.mark.parametrize('own', [True, False])
def test_state_round_trip_restores_the_generator_in_use(own):
    import copy
    import json
    if own:
        dchain.random.seed(8)
    else:
        dchain.random.seed(None)
        numpy.random.seed(8)
    state = json.loads(json.dumps(dchain.random.get_state()))  # as a checkpoint keeps it
    snapshot = copy.deepcopy(dchain.random.get_generator())
    expected = dchain.random.get_generator().permutation(10)
    assert (snapshot.permutation(10) == expected).all()  # the copy draws the same, apart
    dchain.random.seed(None if own else 9)
    dchain.random.set_state(state)
    assert (dchain.random.get_generator().permutation(10) == expected).all()
    with pytest.raises(ValueError, match='dchain.random.set_state: expected a state'):
        dchain.random.set_state({'bit_generator': 'Philox'})


def test_seed_refuses_bad_values():
    with pytest.raises(ValueError, match=r'dchain.random.seed: value must be None or a '
                                         r'non-negative int'):
        dchain.random.seed(-1)
    with pytest.raises(ValueError, match=r'dchain.random.seed'):
        dchain.random.seed(1.5)


def test_random_state_round_trip():
    dchain.random.seed(3)
    state = dchain.random.get_state()
    first = initializers.generate_array(initializers.Normal(), (10,))
    dchain.random.set_state(state)
    assert (initializers.generate_array(initializers.Normal(), (10,)) == first).all()


@pytest.mark.parametrize('make', [
    lambda rng: initializers.Normal(rng=rng), lambda rng: initializers.Uniform(rng=rng),
    lambda rng: initializers.LeCunNormal(rng=rng), lambda rng: initializers.GlorotUniform(rng=rng),
    lambda rng: initializers.HeNormal(rng=rng), lambda rng: initializers.Orthogonal(rng=rng)])
def test_rng_argument(make):
    dchain.random.seed(0)
    before = dchain.random.get_state()
    first = _fill(make(numpy.random.default_rng(42)), numpy, (6, 4))
    second = _fill(make(numpy.random.default_rng(42)), numpy, (6, 4))
    third = _fill(make(numpy.random.default_rng(43)), numpy, (6, 4))
    assert (first == second).all()
    assert not (first == third).all()
    assert dchain.random.get_state() == before  # the global generator was not drawn from


def test_fan_needs_two_dimensions():
    for name in ['LeCunNormal', 'LeCunUniform', 'GlorotNormal', 'GlorotUniform', 'HeNormal',
                 'HeUniform']:
        with pytest.raises(ValueError, match=name + r': needs an array of at least 2 dimensions '
                                                    r'to compute fan-in and fan-out, got shape '
                                                    r'\(5,\)'):
            initializers.generate_array(getattr(initializers, name)(), (5,))


def test_bad_shapes_and_arguments():
    with pytest.raises(ValueError, match=r'Identity: needs a square matrix, got shape \(2, 3\)'):
        initializers.generate_array(initializers.Identity(), (2, 3))
    with pytest.raises(ValueError, match=r'Orthogonal: needs at least 2 dimensions, got shape '
                                         r'\(4,\)'):
        initializers.generate_array(initializers.Orthogonal(), (4,))
    with pytest.raises(ValueError, match="HeNormal: fan_option must be 'fan_in' or 'fan_out', "
                                         "got 'fan_avg'"):
        initializers.HeNormal(fan_option='fan_avg')
    with pytest.raises(TypeError, match='Normal: can only fill float arrays, got int32'):
        initializers.Normal()(numpy.zeros(3, numpy.int32))
    with pytest.raises(TypeError, match='initializer must be an Initializer, a scalar or an '
                                        'array, got str'):
        initializers.generate_array('ones', (2,))
