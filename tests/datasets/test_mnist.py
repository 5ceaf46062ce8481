"""get_mnist on the bundled subset: shapes, scaling, dtypes, the split, argument checks."""
import numpy
import pytest

import dchain
from dchain.datasets import TupleDataset, get_fashion_mnist, get_fashion_mnist_labels, get_mnist
from dchain.datasets import mnist


@pytest.fixture(scope='module')
def raw():
    """The bundled arrays, read with NumPy alone."""
    with numpy.load(mnist.BUNDLED_PATH) as npz:
        return {key: npz[key] for key in npz.files}


def test_bundled_file_holds_a_stratified_split(raw):
    assert sorted(raw) == ['x_test', 'x_train', 'y_test', 'y_train']
    assert raw['x_train'].shape == (4000, 784) and raw['x_test'].shape == (1000, 784)
    for key in raw:
        assert raw[key].dtype == numpy.uint8
    numpy.testing.assert_array_equal(numpy.bincount(raw['y_train']), [400] * 10)
    numpy.testing.assert_array_equal(numpy.bincount(raw['y_test']), [100] * 10)
    # interleaved by class, so an unshuffled pass does not see one class at a time
    numpy.testing.assert_array_equal(raw['y_train'][:20], numpy.tile(numpy.arange(10), 2))
    # no digit is in both sets
    train_rows = {row.tobytes() for row in raw['x_train']}
    assert not any(row.tobytes() in train_rows for row in raw['x_test'])


def test_bundled_digits_look_like_mnist(raw):
    x = raw['x_train'].reshape(-1, 28, 28).astype(numpy.float64)
    assert x.max() == 255 and x.min() == 0
    # MNIST's mean intensity is about 33/255, its border is almost always blank
    assert 25 < x.mean() < 40
    assert x[:, 0, :].mean() < 1 and x[:, :, 0].mean() < 1
    # each class has its own mean image: ones are thin, zeros are wide
    means = [x[raw['y_train'] == c].mean() for c in range(10)]
    assert numpy.argmin(means) == 1


@pytest.mark.parametrize('ndim, shape', [(1, (784,)), (2, (28, 28)), (3, (1, 28, 28))])
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64])
def test_shapes_dtypes_and_scale(raw, ndim, shape, dtype):
    train, test = get_mnist(ndim=ndim, scale=3., dtype=dtype, subset='bundled')
    assert isinstance(train, TupleDataset) and (len(train), len(test)) == (4000, 1000)
    x, t = train[5]
    assert x.shape == shape and x.dtype == dtype
    assert t.dtype == numpy.int32 and t == raw['y_train'][5]
    images, labels = test._datasets
    assert images.shape == (1000,) + shape
    tolerance = 2e-3 if dtype == numpy.float16 else 1e-6
    numpy.testing.assert_allclose(images.reshape(1000, 784).astype(numpy.float64),
                                  raw['x_test'] * (3. / 255), rtol=tolerance, atol=tolerance)
    numpy.testing.assert_array_equal(labels, raw['y_test'])


def test_rgb_and_without_labels(raw):
    train, test = get_mnist(withlabel=False, ndim=3, rgb_format=True, subset='bundled')
    assert isinstance(train, numpy.ndarray) and train.shape == (4000, 3, 28, 28)
    for channel in range(3):
        numpy.testing.assert_allclose(test[:, channel].reshape(1000, 784),
                                      raw['x_test'] / numpy.float32(255), rtol=1e-6)
    train[0] = -1  # a copy: the next call is unaffected
    assert get_mnist(withlabel=False, subset='bundled')[0].min() == 0


@pytest.mark.parametrize('label_dtype', [numpy.int64, numpy.uint8, 'int16'])
def test_label_dtypes(label_dtype):
    train, _ = get_mnist(label_dtype=label_dtype, subset='bundled')
    assert train._datasets[1].dtype == numpy.dtype(label_dtype)


def test_deterministic():
    first, _ = get_mnist(subset='bundled')
    second, _ = get_mnist(subset='bundled')
    numpy.testing.assert_array_equal(first._datasets[0], second._datasets[0])
    numpy.testing.assert_array_equal(first._datasets[1], second._datasets[1])


@pytest.mark.parametrize('function', [get_mnist, get_fashion_mnist])
@pytest.mark.parametrize('kwargs, error, match', [
    (dict(label_dtype=numpy.float32), TypeError,
     'label_dtype must be an integer dtype .* got float32'),
    (dict(dtype=numpy.int32), TypeError, 'dtype must be a floating-point dtype .* got int32'),
    (dict(ndim=4), ValueError, 'ndim must be 1 .*, 2 .* or 3 .*, got 4'),
    (dict(rgb_format=True), ValueError, 'rgb_format=True needs ndim=3, got ndim=1'),
    (dict(scale='1'), TypeError, 'scale must be a number, got str'),
])
def test_bad_arguments(function, kwargs, error, match):
    with pytest.raises(error, match='{}: {}'.format(function.__name__, match)):
        function(**kwargs)


def test_bad_subset():
    with pytest.raises(ValueError, match="get_mnist: subset must be None, 'full' or 'bundled', "
                                         "got 'small'"):
        get_mnist(subset='small')


def test_fashion_labels():
    labels = get_fashion_mnist_labels()
    assert len(labels) == 10 and labels[0] == 'T-shirt/top' and labels[9] == 'Ankle boot'


def test_default_dtype_follows_config_dtype():
    with dchain.using_config('dtype', numpy.float16):
        train, _ = dchain.datasets.get_mnist(subset='bundled')
    assert train[0][0].dtype == numpy.float16
    with dchain.using_config('dtype', dchain.mixed16):
        train, _ = dchain.datasets.get_mnist(subset='bundled', withlabel=False)
    assert train.dtype == numpy.float16
    train, _ = dchain.datasets.get_mnist(subset='bundled', dtype=numpy.float64)
    assert train[0][0].dtype == numpy.float64
