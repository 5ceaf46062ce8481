import numpy
import pytest

import dchain
import dchain.functions as F
from dchain import using_config
from dchain.testing import assert_allclose, check_backward, check_double_backward

TOL = {numpy.float16: dict(atol=5e-2, rtol=5e-2), numpy.float32: dict(atol=1e-5, rtol=1e-4),
       numpy.float64: dict(atol=1e-10, rtol=1e-10)}
GRAD_TOL = {numpy.float32: dict(atol=1e-3, rtol=1e-2), numpy.float64: dict(atol=1e-6, rtol=1e-5)}


def _cpu(x):
    return dchain.backend.to_cpu(x.data if isinstance(x, dchain.Variable) else x)


def _scores(xp, rng, shape, dtype):
    return xp.asarray(rng.normal(0, 2, shape), dtype=dtype)


def _labels(xp, rng, shape, n_classes, ignore=True):
    t = rng.integers(-1 if ignore else 0, n_classes, shape).astype(numpy.int32)
    t.reshape(-1)[0] = 0  # never all ignored
    return xp.asarray(t)


# -- softmax_cross_entropy ----------------------------------------------------------------

def softmax_cross_entropy_reference(x, t, normalize=True, class_weight=None, ignore_label=-1,
                                    reduce='mean'):
    x = numpy.moveaxis(_cpu(x).astype(numpy.float64), 1, -1)  # classes last
    t = _cpu(t)
    log_softmax = x - x.max(axis=-1, keepdims=True)
    log_softmax -= numpy.log(numpy.exp(log_softmax).sum(axis=-1, keepdims=True))
    keep = t != ignore_label
    safe = numpy.where(keep, t, 0)
    loss = -numpy.take_along_axis(log_softmax, safe[..., None], axis=-1)[..., 0]
    if class_weight is not None:
        loss *= _cpu(class_weight)[safe]
    loss *= keep
    if reduce == 'no':
        return loss
    return loss.sum() / max(keep.sum() if normalize else len(t), 1)


SCE_SHAPES = [((5, 4), (5,)), ((3, 4, 2, 2), (3, 2, 2)), ((2, 3, 5), (2, 5)), ((1, 7), (1,))]


@pytest.mark.parametrize('x_shape,t_shape', SCE_SHAPES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
@pytest.mark.parametrize('reduce', ['mean', 'no'])
@pytest.mark.parametrize('normalize', [True, False])
@pytest.mark.parametrize('weighted', [False, True])
def test_softmax_cross_entropy_forward(xp, rng, x_shape, t_shape, dtype, reduce, normalize,
                                       weighted):
    x = _scores(xp, rng, x_shape, dtype)
    t = _labels(xp, rng, t_shape, x_shape[1])
    weight = xp.asarray(rng.uniform(0.5, 2, x_shape[1]), dtype) if weighted else None
    y = F.softmax_cross_entropy(x, t, normalize=normalize, class_weight=weight, reduce=reduce)
    assert y.dtype == dtype
    assert y.shape == (() if reduce == 'mean' else t_shape)
    expected = softmax_cross_entropy_reference(x, t, normalize, weight, reduce=reduce)
    assert_allclose(y.data, expected, **TOL[dtype])


@pytest.mark.parametrize('x_shape,t_shape', SCE_SHAPES)
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
@pytest.mark.parametrize('reduce', ['mean', 'no'])
@pytest.mark.parametrize('cache_score', [True, False])
def test_softmax_cross_entropy_backward(xp, rng, x_shape, t_shape, dtype, reduce, cache_score):
    x = _scores(xp, rng, x_shape, dtype)
    t = _labels(xp, rng, t_shape, x_shape[1])
    weight = xp.asarray(rng.uniform(0.5, 2, x_shape[1]), dtype)
    gy = None if reduce == 'mean' else xp.asarray(rng.normal(size=t_shape), dtype)

    def func(x):
        return F.softmax_cross_entropy(x, t, cache_score=cache_score, class_weight=weight,
                                       reduce=reduce)
    check_backward(func, x, gy, **GRAD_TOL[dtype])


def test_softmax_cross_entropy_gradient_is_softmax_minus_onehot(xp, rng):
    x = _scores(xp, rng, (6, 5), numpy.float64)
    t_host = numpy.array([0, 4, -1, 2, 2, 1], numpy.int32)
    x_var = dchain.Variable(x)
    F.softmax_cross_entropy(x_var, xp.asarray(t_host)).backward()
    x_host = _cpu(x)
    softmax = numpy.exp(x_host) / numpy.exp(x_host).sum(axis=1, keepdims=True)
    onehot = numpy.eye(5)[numpy.maximum(t_host, 0)]
    expected = (softmax - onehot) * (t_host != -1)[:, None] / 5  # 5 entries not ignored
    assert_allclose(x_var.grad, expected, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize('x_shape,t_shape', SCE_SHAPES[:3])
@pytest.mark.parametrize('reduce', ['mean', 'no'])
def test_softmax_cross_entropy_double_backward(xp, rng, x_shape, t_shape, reduce):
    x = _scores(xp, rng, x_shape, numpy.float64)
    t = _labels(xp, rng, t_shape, x_shape[1])
    weight = xp.asarray(rng.uniform(0.5, 2, x_shape[1]))
    gy = xp.asarray(rng.normal(size=() if reduce == 'mean' else t_shape))
    for enable in (False, True):
        check_double_backward(
            lambda x: F.softmax_cross_entropy(x, t, class_weight=weight, reduce=reduce,
                                              enable_double_backprop=enable),
            x, gy, xp.asarray(rng.normal(size=x_shape)), atol=1e-6, rtol=1e-5)


def test_softmax_cross_entropy_all_ignored(xp, rng):
    x = dchain.Variable(_scores(xp, rng, (3, 4), numpy.float32))
    t = xp.full(3, -1, numpy.int32)
    loss = F.softmax_cross_entropy(x, t)
    assert float(loss.data) == 0.0
    loss.backward()
    assert (_cpu(x.grad) == 0).all()


def test_softmax_cross_entropy_custom_ignore_label(xp, rng):
    x = _scores(xp, rng, (4, 3), numpy.float64)
    t = xp.asarray(numpy.array([0, 255, 2, 1], numpy.int32))
    y = F.softmax_cross_entropy(x, t, ignore_label=255)
    assert_allclose(y.data, softmax_cross_entropy_reference(x, t, ignore_label=255))


def test_softmax_cross_entropy_accepts_int64_and_variable_labels(xp, rng):
    x = _scores(xp, rng, (4, 3), numpy.float64)
    t = xp.asarray(numpy.array([0, 1, 2, 1], numpy.int64))
    expected = softmax_cross_entropy_reference(x, t)
    assert_allclose(F.softmax_cross_entropy(x, t).data, expected)
    assert_allclose(F.softmax_cross_entropy(x, dchain.Variable(t)).data, expected)


def test_softmax_cross_entropy_errors(xp):
    x = xp.zeros((4, 3), numpy.float32)
    t = xp.zeros(4, numpy.int32)
    with pytest.raises(TypeError, match=r'softmax_cross_entropy: t must be an integer array of '
                                        r'class labels \(int32\), got float32'):
        F.softmax_cross_entropy(x, xp.zeros(4, numpy.float32))
    with pytest.raises(TypeError, match='softmax_cross_entropy: x must be a float array of '
                                        'scores, got int32'):
        F.softmax_cross_entropy(t.reshape(2, 2), t[:2])
    for bad in (3, -2):
        message = r'softmax_cross_entropy: t must hold class ids in \[0, 3\) or ignore_label ' \
                  r'\(-1\), got {}'.format(bad)
        with pytest.raises(ValueError, match=message):
            F.softmax_cross_entropy(x, xp.asarray(numpy.array([0, 1, bad, 2], numpy.int32)))
    with pytest.raises(ValueError, match=r'softmax_cross_entropy: x and t must have the same batch '
                                         r'size, got x of shape \(4, 3\) and t of shape \(5,\)'):
        F.softmax_cross_entropy(x, xp.zeros(5, numpy.int32))
    with pytest.raises(ValueError, match=r'softmax_cross_entropy: t must have shape \(4, 2\) for x '
                                         r'of shape \(4, 3, 2\), got \(4,\)'):
        F.softmax_cross_entropy(xp.zeros((4, 3, 2), numpy.float32), t)
    with pytest.raises(ValueError, match=r'softmax_cross_entropy: x must have shape \(N, C\) or '
                                         r'\(N, C, d1, ...\), got \(4,\)'):
        F.softmax_cross_entropy(xp.zeros(4, numpy.float32), t)
    with pytest.raises(ValueError, match="softmax_cross_entropy: reduce must be 'mean' or 'no', "
                                         "got 'sum'"):
        F.softmax_cross_entropy(x, t, reduce='sum')
    with pytest.raises(ValueError, match=r'softmax_cross_entropy: class_weight must be a float '
                                         r'array of shape \(3,\), got float32 \(4,\)'):
        F.softmax_cross_entropy(x, t, class_weight=xp.ones(4, numpy.float32))
    with pytest.raises(TypeError, match='softmax_cross_entropy: class_weight must be a numpy or '
                                        'cupy array, got list'):
        F.softmax_cross_entropy(x, t, class_weight=[1.0, 1.0, 1.0])


def test_softmax_cross_entropy_without_type_check(xp):
    # With type_check off the label range is not read (no host sync on a GPU); valid inputs
    # give the same loss.
    x = xp.zeros((2, 3), numpy.float32)
    t = xp.asarray(numpy.array([1, -1], numpy.int32))
    with using_config('type_check', False):
        y = F.softmax_cross_entropy(x, t)
    assert_allclose(y.data, numpy.log(3.0), atol=1e-6)


# -- sigmoid_cross_entropy ----------------------------------------------------------------

def sigmoid_cross_entropy_reference(x, t, normalize=True, reduce='mean'):
    x, t = _cpu(x).astype(numpy.float64), _cpu(t)
    keep = t != -1
    loss = (numpy.logaddexp(0, x) - x * t) * keep
    if reduce == 'no':
        return loss
    return loss.sum() / max(keep.sum() if normalize else x.shape[0], 1)


@pytest.mark.parametrize('shape', [(4, 3), (2, 3, 4), (6, 1)])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
@pytest.mark.parametrize('reduce', ['mean', 'no'])
@pytest.mark.parametrize('normalize', [True, False])
def test_sigmoid_cross_entropy_forward(xp, rng, shape, dtype, reduce, normalize):
    x = xp.asarray(rng.normal(0, 10, shape), dtype)  # large scores test the stable form
    t = _labels(xp, rng, shape, 2)
    y = F.sigmoid_cross_entropy(x, t, normalize=normalize, reduce=reduce)
    assert y.dtype == dtype and y.shape == (() if reduce == 'mean' else shape)
    assert_allclose(y.data, sigmoid_cross_entropy_reference(x, t, normalize, reduce),
                    **TOL[dtype])


@pytest.mark.parametrize('shape', [(4, 3), (2, 3, 4)])
@pytest.mark.parametrize('reduce', ['mean', 'no'])
@pytest.mark.parametrize('normalize', [True, False])
def test_sigmoid_cross_entropy_backward(xp, rng, shape, reduce, normalize):
    x = _scores(xp, rng, shape, numpy.float64)
    t = _labels(xp, rng, shape, 2)
    gy = xp.asarray(rng.normal(size=() if reduce == 'mean' else shape))

    def func(x):
        return F.sigmoid_cross_entropy(x, t, normalize=normalize, reduce=reduce)
    check_backward(func, x, gy)
    check_double_backward(func, x, gy, xp.asarray(rng.normal(size=shape)), atol=1e-6, rtol=1e-5)


def test_sigmoid_cross_entropy_errors(xp):
    x = xp.zeros((2, 3), numpy.float32)
    with pytest.raises(TypeError, match=r'sigmoid_cross_entropy: t must be an integer array of '
                                        r'labels 0, 1 or -1 \(int32\), got float32'):
        F.sigmoid_cross_entropy(x, x)
    with pytest.raises(ValueError, match=r'sigmoid_cross_entropy: x and t must have the same '
                                         r'shape, got \(2, 3\) and \(3, 2\)'):
        F.sigmoid_cross_entropy(x, xp.zeros((3, 2), numpy.int32))
    with pytest.raises(ValueError, match=r'sigmoid_cross_entropy: t must hold class ids in \[0, '
                                         r'2\) or ignore_label \(-1\), got 2'):
        F.sigmoid_cross_entropy(x, xp.full((2, 3), 2, numpy.int32))
    with pytest.raises(ValueError, match="sigmoid_cross_entropy: reduce must be 'mean' or 'no', "
                                         "got 'sum'"):
        F.sigmoid_cross_entropy(x, xp.zeros((2, 3), numpy.int32), reduce='sum')


# -- mean_squared_error and mean_absolute_error --------------------------------------------

PAIR_FUNCS = {
    'mean_squared_error': (F.mean_squared_error, lambda d: numpy.mean(d ** 2)),
    'mean_absolute_error': (F.mean_absolute_error, lambda d: numpy.mean(abs(d))),
}


@pytest.mark.parametrize('name', sorted(PAIR_FUNCS))
@pytest.mark.parametrize('shape', [(4, 3), (2, 3, 4), (5,), ()])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_pair_losses(xp, rng, name, shape, dtype):
    func, reference = PAIR_FUNCS[name]
    x0, x1 = [xp.asarray(rng.uniform(-2, 2, shape), dtype) for _ in range(2)]
    y = func(x0, x1)
    assert y.shape == () and y.dtype == dtype
    assert_allclose(y.data, reference(_cpu(x0).astype(numpy.float64) - _cpu(x1)), **TOL[dtype])
    if dtype != numpy.float16:
        check_backward(func, (x0, x1), None, **GRAD_TOL[dtype])


def test_mean_squared_error_double_backward(xp, rng):
    x0, x1, gg0, gg1 = [xp.asarray(rng.normal(size=(3, 4))) for _ in range(4)]
    check_double_backward(F.mean_squared_error, (x0, x1), xp.asarray(0.7), (gg0, gg1))


@pytest.mark.parametrize('name', sorted(PAIR_FUNCS))
def test_pair_loss_errors(xp, name):
    func = PAIR_FUNCS[name][0]
    x = xp.zeros((2, 3), numpy.float32)
    with pytest.raises(ValueError, match=r'{}: x0 and x1 must have the same shape, got \(2, 3\) '
                                         r'and \(3, 2\)'.format(name)):
        func(x, xp.zeros((3, 2), numpy.float32))
    with pytest.raises(TypeError, match='{}: x0 and x1 must be float arrays of the same dtype, '
                                        'got float32 and float64'.format(name)):
        func(x, xp.zeros((2, 3), numpy.float64))
    with pytest.raises(TypeError, match='{}: x0 and x1 must be float arrays of the same dtype, '
                                        'got int32 and int32'.format(name)):
        func(xp.zeros(3, numpy.int32), xp.zeros(3, numpy.int32))


# -- huber_loss ---------------------------------------------------------------------------

def huber_reference(x, t, delta, reduce):
    a = abs(_cpu(x).astype(numpy.float64) - _cpu(t))
    y = numpy.where(a <= delta, 0.5 * a ** 2, delta * (a - 0.5 * delta))
    return y.sum(axis=1) if reduce == 'sum_along_second_axis' else y


@pytest.mark.parametrize('shape', [(4, 3), (2, 3, 4), (5, 1)])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
@pytest.mark.parametrize('reduce', ['sum_along_second_axis', 'no'])
@pytest.mark.parametrize('delta', [0.5, 1.0, 3.0])
def test_huber_loss_forward(xp, rng, shape, dtype, reduce, delta):
    x, t = [xp.asarray(rng.uniform(-3, 3, shape), dtype) for _ in range(2)]
    y = F.huber_loss(x, t, delta, reduce=reduce)
    expected = huber_reference(x, t, delta, reduce)
    assert y.dtype == dtype and y.shape == expected.shape
    assert_allclose(y.data, expected, **TOL[dtype])


@pytest.mark.parametrize('shape', [(4, 3), (2, 3, 4)])
@pytest.mark.parametrize('reduce', ['sum_along_second_axis', 'no'])
def test_huber_loss_backward(xp, rng, shape, reduce):
    # Differences kept away from +-delta, where the second derivative jumps.
    sign = numpy.where(rng.uniform(size=shape) < 0.5, -1, 1)
    diff = sign * numpy.where(rng.uniform(size=shape) < 0.5, rng.uniform(0.1, 0.8, shape),
                              rng.uniform(1.2, 3, shape))
    t = rng.normal(size=shape)
    x, t = xp.asarray(t + diff), xp.asarray(t)
    gy_shape = shape[:1] + shape[2:] if reduce == 'sum_along_second_axis' else shape
    gy = xp.asarray(rng.normal(size=gy_shape))

    def func(x, t):
        return F.huber_loss(x, t, 1.0, reduce=reduce)
    check_backward(func, (x, t), gy)
    check_double_backward(func, (x, t), gy, tuple(xp.asarray(rng.normal(size=shape))
                                                  for _ in range(2)))


def test_huber_loss_default_reduce_sums_the_second_axis(xp):
    x = xp.asarray(numpy.array([[-2.0, 3.0, 0.5], [5.0, 2.0, -0.5]], numpy.float32))
    y = F.huber_loss(x, xp.zeros_like(x), 1.0)
    assert_allclose(y.data, [1.5 + 2.5 + 0.125, 4.5 + 1.5 + 0.125])


def test_huber_loss_errors(xp):
    x = xp.zeros((2, 3), numpy.float32)
    with pytest.raises(ValueError, match="huber_loss: reduce must be 'sum_along_second_axis' or "
                                         "'no', got 'mean'"):
        F.huber_loss(x, x, 1.0, reduce='mean')
    with pytest.raises(ValueError, match=r'huber_loss: x and t must have the same shape, got '
                                         r'\(2, 3\) and \(3,\)'):
        F.huber_loss(x, xp.zeros(3, numpy.float32), 1.0)
    with pytest.raises(TypeError, match='huber_loss: x and t must be float arrays of the same '
                                        'dtype, got float32 and float16'):
        F.huber_loss(x, xp.zeros((2, 3), numpy.float16), 1.0)
    with pytest.raises(ValueError, match=r"huber_loss: reduce='sum_along_second_axis' needs x of "
                                         r"2 or more dimensions, got shape \(3,\)"):
        F.huber_loss(x[0], x[1], 1.0)


def _soft_targets(xp, rng, shape, dtype):
    t = rng.uniform(0.1, 1, shape)
    return xp.asarray(t / t.sum(axis=1, keepdims=True), dtype=dtype)


@pytest.mark.parametrize('shape', [(4, 3), (2, 3, 4)])
@pytest.mark.parametrize('loss', ['cross-entropy', 'kl-divergence'])
@pytest.mark.parametrize('reduce', ['mean', 'no'])
def test_softmax_cross_entropy_soft_targets(xp, rng, shape, loss, reduce):
    x = _scores(xp, rng, shape, numpy.float64)
    t = _soft_targets(xp, rng, shape, numpy.float64)
    y = F.softmax_cross_entropy(x, t, reduce=reduce, soft_target_loss=loss)
    x_cpu, t_cpu = _cpu(x), _cpu(t)
    shifted = x_cpu - x_cpu.max(axis=1, keepdims=True)
    log_y = shifted - numpy.log(numpy.exp(shifted).sum(axis=1, keepdims=True))
    if loss == 'cross-entropy':
        expected = -(t_cpu * log_y).sum(axis=1)
    else:
        expected = (t_cpu * (numpy.log(t_cpu + 1e-7) - log_y)).sum(axis=1)
    if reduce == 'mean':
        # Chainer divides by every sample and position: x.size / x.shape[1].
        expected = expected.sum() / (x_cpu.size / shape[1])
    assert_allclose(y.data, expected, **TOL[numpy.float64])
    gy = None if reduce == 'mean' else xp.asarray(rng.uniform(-1, 1, y.shape))
    check_backward(lambda v: F.softmax_cross_entropy(v, t, reduce=reduce,
                                                     soft_target_loss=loss), x, gy)


def test_softmax_cross_entropy_soft_target_gradient_is_softmax_minus_t(xp, rng):
    x = dchain.Variable(_scores(xp, rng, (5, 4), numpy.float32))
    t = _soft_targets(xp, rng, (5, 4), numpy.float32)
    F.softmax_cross_entropy(x, t).backward()
    x_cpu = _cpu(x)
    softmax = numpy.exp(x_cpu) / numpy.exp(x_cpu).sum(axis=1, keepdims=True)
    assert_allclose(x.grad, (softmax - _cpu(t)) / 5, **TOL[numpy.float32])


def test_softmax_cross_entropy_soft_target_errors(xp):
    x = xp.zeros((4, 3), numpy.float32)
    with pytest.raises(TypeError, match='soft targets t must have the float dtype of x, got x '
                                        'float32 and t float64'):
        F.softmax_cross_entropy(x, xp.zeros((4, 3)))
    with pytest.raises(ValueError, match='class_weight applies to integer labels only'):
        F.softmax_cross_entropy(x, x, class_weight=xp.ones(3, numpy.float32))
    with pytest.raises(ValueError, match="soft_target_loss must be 'cross-entropy' or "
                                         "'kl-divergence', got 'kl'"):
        F.softmax_cross_entropy(x, x, soft_target_loss='kl')
