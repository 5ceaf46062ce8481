"""concat_examples and to_device."""
import numpy
import pytest

import dchain
from dchain import backend
from dchain.dataset import concat_examples, to_device
from dchain.datasets import DictDataset, TupleDataset

SHAPES = [(), (3,), (2, 4)]


def _examples(xp, rng, shape, count, dtype):
    return [xp.asarray(rng.uniform(-1, 1, shape), dtype=dtype) for _ in range(count)]


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('dtype', [numpy.float16, numpy.float32, numpy.float64, numpy.int32])
def test_arrays(xp, rng, shape, dtype):
    examples = _examples(xp, rng, shape, 4, dtype)
    batch = concat_examples(examples)
    assert backend.get_array_module(batch) is xp
    assert batch.shape == (4,) + shape and batch.dtype == dtype
    for i, example in enumerate(examples):
        assert (batch[i] == example).all()


@pytest.mark.parametrize('shape', SHAPES)
def test_tuples_and_dicts(xp, rng, shape):
    xs = _examples(xp, rng, shape, 3, numpy.float32)
    labels = [numpy.int32(i) for i in (2, 0, 1)]  # NumPy scalars, as a 1-d array yields them
    x, t = concat_examples(list(zip(xs, labels)))
    assert x.shape == (3,) + shape and t.dtype == numpy.int32
    numpy.testing.assert_array_equal(backend.to_cpu(t), [2, 0, 1])
    assert all((x[i] == xs[i]).all() for i in range(3))
    result = concat_examples([{'x': a, 't': b} for a, b in zip(xs, labels)])
    assert sorted(result) == ['t', 'x']
    assert (result['x'] == x).all() and (backend.to_cpu(result['t']) == [2, 0, 1]).all()


def test_python_scalars():
    t = concat_examples([1, 2, 3])
    assert isinstance(t, numpy.ndarray) and t.tolist() == [1, 2, 3]
    x, t = concat_examples([(0.5, 1), (1.5, 0)])
    assert x.tolist() == [0.5, 1.5] and t.tolist() == [1, 0]


@pytest.mark.parametrize('padding', [-1, 0.5])
def test_padding(xp, padding):
    a = xp.ones((2, 3), dtype=xp.float32)
    b = xp.full((4, 1), 2, dtype=xp.float32)
    batch = concat_examples([a, b], padding=padding)
    expected = numpy.full((2, 4, 3), padding, dtype=numpy.float32)
    expected[0, :2, :3] = 1
    expected[1, :4, :1] = 2
    numpy.testing.assert_array_equal(backend.to_cpu(batch), expected)
    x, t = concat_examples([(a, xp.arange(2.)), (b, xp.arange(3.))], padding=padding)
    numpy.testing.assert_array_equal(backend.to_cpu(t), [[0, 1, padding], [0, 1, 2]])


def test_padding_integers_and_nan(xp):
    t = concat_examples([xp.arange(1), xp.arange(3)], padding=-1)
    numpy.testing.assert_array_equal(backend.to_cpu(t), [[0, -1, -1], [0, 1, 2]])
    x = concat_examples([xp.ones(1), xp.ones(2)], padding=float('nan'))
    assert bool(xp.isnan(x[0, 1])) and float(x[1, 1]) == 1


def test_device(device, rng):
    xs = _examples(numpy, rng, (3,), 2, numpy.float32)
    labels = [numpy.int32(1), numpy.int32(0)]
    x, t = concat_examples(list(zip(xs, labels)), device=device)
    assert backend.get_array_module(x) is device.xp and backend.get_array_module(t) is device.xp
    numpy.testing.assert_array_equal(backend.to_cpu(x), numpy.stack(xs))
    for spec in (device.name, device):
        assert backend.get_array_module(concat_examples(xs, spec)) is device.xp


def test_cpu_specs(rng):
    xs = _examples(numpy, rng, (3,), 2, numpy.float32)
    for spec in (None, -1, '@numpy'):
        assert isinstance(concat_examples(xs, spec), numpy.ndarray)


def test_to_device(device):
    x = numpy.arange(3)
    assert to_device(None, x) is x
    moved = to_device(device, x)
    assert backend.get_array_module(moved) is device.xp
    numpy.testing.assert_array_equal(backend.to_cpu(moved), x)
    assert to_device(device, None) is None
    pair = to_device(device, (x, x))
    assert isinstance(pair, tuple) and backend.get_array_module(pair[1]) is device.xp
    if device.xp is numpy:
        assert to_device(-1, x) is x  # no copy when already there


@pytest.mark.parametrize('make', [
    lambda x, t: TupleDataset(x, t)[numpy.array([3, 1, 4])],
    lambda x, t: DictDataset(x=x, t=t)[[3, 1, 4]],
    lambda x, t: list(TupleDataset(x, t)[numpy.array([3, 1, 4])]),
    lambda x, t: [TupleDataset(x, t)[i] for i in (3, 1, 4)],
])
def test_gathered_batches_equal_stacked_ones(make):
    x = numpy.arange(15, dtype=numpy.float32).reshape(5, 3)
    t = numpy.arange(5, dtype=numpy.int32)
    result = concat_examples(make(x, t))
    if isinstance(result, dict):
        result = (result['x'], result['t'])
    numpy.testing.assert_array_equal(result[0], x[[3, 1, 4]])
    numpy.testing.assert_array_equal(result[1], t[[3, 1, 4]])
    assert result[1].dtype == numpy.int32


def test_changed_gathered_batch_is_stacked_again():
    x = numpy.arange(15, dtype=numpy.float32).reshape(5, 3)
    dataset = TupleDataset(x, numpy.arange(5, dtype=numpy.int32))
    batch = dataset[numpy.array([0, 1])]
    batch[1] = (numpy.full(3, 9, numpy.float32), numpy.int32(7))
    images, labels = concat_examples(batch)
    numpy.testing.assert_array_equal(images, [[0, 1, 2], [9, 9, 9]])
    numpy.testing.assert_array_equal(labels, [0, 7])
    batch = dataset[numpy.array([0, 1])]
    batch.append(dataset[4])
    assert concat_examples(batch)[1].tolist() == [0, 1, 4]
    batch = dataset[numpy.array([0, 1])]
    batch.reverse()
    assert concat_examples(batch)[1].tolist() == [1, 0]


def test_errors():
    with pytest.raises(ValueError, match='concat_examples: the batch is empty'):
        concat_examples([])
    with pytest.raises(ValueError, match=r'concat_examples: examples must have the same shape '
                                         r'unless padding is given, got \(3,\) \(example 0\) '
                                         r'and \(2,\) \(example 2\)'):
        concat_examples([numpy.zeros(3), numpy.zeros(3), numpy.zeros(2)])
    with pytest.raises(ValueError, match=r'padding needs examples of the same ndim, got \(3,\) '
                                         r'and \(1, 3\)'):
        concat_examples([numpy.zeros(3), numpy.zeros((1, 3))], padding=0)
    with pytest.raises(ValueError, match='every example must be a tuple of 2 items, got one of 1'):
        concat_examples([(numpy.zeros(1), 1), (numpy.zeros(1),)])
    with pytest.raises(ValueError, match=r"every example must have the keys \['t', 'x'\], one "
                                         r"lacks 't'"):
        concat_examples([{'x': 1, 't': 2}, {'x': 1}])
    with pytest.raises(TypeError, match=r'padding 0\.5 cannot be stored exactly in the int64 '
                                        r'examples'):
        concat_examples([numpy.arange(1), numpy.arange(2)], padding=0.5)
    with pytest.raises(TypeError, match='padding 300 cannot be stored exactly in the uint8'):
        concat_examples([numpy.zeros(1, numpy.uint8), numpy.zeros(2, numpy.uint8)], padding=300)
    with pytest.raises(ValueError, match='examples of list could not be stacked'):
        concat_examples([[1, 2], [3]])


def test_converter_decorator_gives_a_device():
    seen = []

    @dchain.dataset.converter()
    def convert(batch, device):
        """Stack the batch."""
        seen.append(device)
        return dchain.dataset.to_device(device, numpy.stack(batch))

    assert isinstance(convert, dchain.dataset.Converter)
    assert convert.__name__ == 'convert' and convert.__doc__ == 'Stack the batch.'
    batch = [numpy.zeros(2, 'f'), numpy.ones(2, 'f')]
    assert convert(batch, -1).shape == (2, 2)
    assert convert(batch, '@numpy').shape == (2, 2)
    assert convert(batch, None).shape == (2, 2)
    assert seen == [backend.CPU, backend.CPU, None]


def test_converter_in_an_updater():
    import dchain.links as L
    from dchain import training

    @dchain.dataset.converter()
    def convert(batch, device):
        x = numpy.stack([example[0] for example in batch])
        t = numpy.array([example[1] for example in batch], numpy.int32)
        return dchain.dataset.to_device(device, x), dchain.dataset.to_device(device, t)

    data = [(numpy.full(3, i, 'f'), i % 2) for i in range(4)]
    iterator = dchain.iterators.SerialIterator(data, 2)
    optimizer = dchain.optimizers.SGD().setup(L.Classifier(L.Linear(3, 2)))
    updater = training.updaters.StandardUpdater(iterator, optimizer, converter=convert,
                                                device='@numpy')
    updater.update()
    assert updater.iteration == 1


def test_converter_refuses_a_non_callable():
    with pytest.raises(TypeError, match='converter: the decorated object must be callable'):
        dchain.dataset.converter()(3)


def test_call_converter_gives_legacy_converters_integer_devices():
    seen = []

    def legacy(batch, device):
        seen.append(device)
        return batch

    @dchain.dataset.converter()
    def decorated(batch, device):
        seen.append(device)
        return batch
    batch = [numpy.zeros(2, 'f')]
    for device in ('@numpy', -1, dchain.get_device('@numpy')):
        assert dchain.dataset.call_converter(legacy, batch, device) is batch
    dchain.dataset.call_converter(legacy, batch, None)
    dchain.dataset.call_converter(decorated, batch, -1)
    dchain.dataset.call_converter(decorated, batch, None)
    assert seen == [-1, -1, -1, None, dchain.get_device('@numpy'), None]


def test_evaluator_calls_a_legacy_converter_with_an_integer_device():
    from dchain.training.extensions import Evaluator
    seen = []

    def convert(batch, device):
        seen.append(device)
        if device < 0:  # what Chainer programs' own converters test
            return numpy.stack(batch)

    class Mean(dchain.Link):
        def __call__(self, x):
            dchain.report({'mean': float(x.mean())})
    data = [numpy.full(2, i, 'f') for i in range(4)]
    iterator = dchain.iterators.SerialIterator(data, 2, repeat=False, shuffle=False)
    result = Evaluator(iterator, Mean(), converter=convert, device='@numpy').evaluate()
    assert seen == [-1, -1] and result['mean'] == pytest.approx(1.5)
