"""SerialIterator against a plain reference of Chainer's semantics; resuming; errors."""
import os

import numpy
import pytest

import dchain
from dchain.dataset import concat_examples
from dchain.datasets import TupleDataset
from dchain.iterators import OrderSampler, SerialIterator, ShuffleOrderSampler
from dchain.serializers import DictionarySerializer, NpzDeserializer, load_npz, save_npz

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'serializers', 'fixtures')


def reference_batches(size, batch_size, repeat, orders, count):
    """What Chainer's SerialIterator yields: the epochs' orders laid end to end, cut into
    batches; without repeat, one epoch with a short last batch. Each item is (indices, epoch,
    is_new_epoch, epoch_detail, previous_epoch_detail) as seen after that batch."""
    stream = numpy.concatenate(orders) if repeat else orders[0]
    consumed, previous, result = 0, 0.0, []
    for _ in range(count):
        if not repeat and consumed >= size:
            break
        taken = stream[consumed:consumed + batch_size]
        epoch_before = consumed // size
        consumed += len(taken)
        result.append((taken.tolist(), consumed // size, consumed // size > epoch_before,
                       consumed / size, previous))
        previous = consumed / size
    return result


def _observe(iterator, count):
    result = []
    for _ in range(count):
        try:
            batch = iterator.next()
        except StopIteration:
            break
        result.append(([int(i) for i in batch], iterator.epoch, iterator.is_new_epoch,
                       iterator.epoch_detail, iterator.previous_epoch_detail))
    return result


@pytest.mark.parametrize('size', [1, 5, 10])
@pytest.mark.parametrize('batch_size', [1, 3, 4, 10, 12])
@pytest.mark.parametrize('repeat', [True, False])
@pytest.mark.parametrize('shuffle', [False, True])
def test_matches_reference(size, batch_size, repeat, shuffle):
    count = 3 * size // batch_size + 3
    iterator = SerialIterator(numpy.arange(size), batch_size, repeat=repeat, shuffle=shuffle,
                              seed=5)
    epochs = count * batch_size // size + 2
    if shuffle:
        generator = numpy.random.default_rng(5)
        orders = [generator.permutation(size) for _ in range(epochs)]
    else:
        orders = [numpy.arange(size)] * epochs
    assert iterator.epoch_detail == 0 and iterator.previous_epoch_detail is None
    observed = _observe(iterator, count)
    expected = reference_batches(size, batch_size, repeat, orders, count)
    assert len(observed) == len(expected)
    for got, want in zip(observed, expected):
        assert got[0] == want[0] and got[1:3] == want[1:3]
        assert got[3] == pytest.approx(want[3]) and got[4] == pytest.approx(want[4])
    if not repeat:
        with pytest.raises(StopIteration):
            iterator.next()


def test_last_short_batch_and_reset():
    dataset = TupleDataset(numpy.arange(7, dtype=numpy.float32), numpy.arange(7) % 2)
    iterator = SerialIterator(dataset, 3, repeat=False, shuffle=False)
    sizes = [len(batch) for batch in iterator]
    assert sizes == [3, 3, 1] and iterator.epoch == 1 and iterator.is_new_epoch
    assert list(iterator) == []
    iterator.reset()
    assert iterator.epoch == 0 and iterator.epoch_detail == 0
    x, t = concat_examples(iterator.next())
    assert x.tolist() == [0, 1, 2] and t.tolist() == [0, 1, 0]


def test_default_shuffles_and_visits_everything():
    iterator = SerialIterator(list(range(50)), 7, repeat=False)
    seen = [example for batch in iterator for example in batch]
    assert sorted(seen) == list(range(50)) and seen != list(range(50))


def test_seed_and_global_generator():
    def first_epoch(**kwargs):
        return [e for batch in SerialIterator(list(range(30)), 30, repeat=False, **kwargs)
                for e in batch]

    assert first_epoch(seed=1) == first_epoch(seed=1) != first_epoch(seed=2)
    dchain.random.seed(4)
    a = first_epoch()
    dchain.random.seed(4)
    assert first_epoch() == a != first_epoch()


def test_data_on_device(xp):
    x = xp.arange(12, dtype=xp.float32).reshape(6, 2)
    iterator = SerialIterator(TupleDataset(x, xp.arange(6)), 4, seed=0)
    images, labels = concat_examples(iterator.next())
    assert dchain.get_array_module(images) is xp and images.shape == (4, 2)
    assert (images[:, 0] == 2 * labels).all()


def test_custom_order_sampler():
    calls = []

    class Reverse(OrderSampler):
        def __call__(self, current_order, current_position):
            calls.append((current_order.tolist(), current_position))
            return current_order[::-1]

    iterator = SerialIterator(list(range(4)), 3, order_sampler=Reverse())
    assert iterator.next() == [3, 2, 1]
    assert iterator.next() == [0, 0, 1]  # the next epoch's order is the reverse again
    assert calls == [([0, 1, 2, 3], 0), ([3, 2, 1, 0], 3)]

    iterator = SerialIterator(list(range(4)), 2, order_sampler=ShuffleOrderSampler(
        numpy.random.default_rng(0)))
    assert sorted(iterator.next() + iterator.next()) == [0, 1, 2, 3]


def test_bad_order_sampler():
    with pytest.raises(ValueError, match='SerialIterator: the order sampler returned 2 indices '
                                         'for a dataset of 4'):
        SerialIterator(list(range(4)), 2, order_sampler=lambda order, position: order[:2])


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(batch_size=0), ValueError, 'batch_size must be positive, got 0'),
    (dict(batch_size=-3), ValueError, 'batch_size must be positive, got -3'),
    (dict(batch_size=2.0), TypeError, 'batch_size must be an int, got float'),
    (dict(batch_size=True), TypeError, 'batch_size must be an int, got bool'),
    (dict(batch_size=2, shuffle=True, order_sampler=ShuffleOrderSampler()), ValueError,
     'give either order_sampler or shuffle/seed'),
    (dict(batch_size=2, seed=0, order_sampler=ShuffleOrderSampler()), ValueError,
     'give either order_sampler or shuffle/seed'),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match='SerialIterator: ' + match):
        SerialIterator(list(range(4)), **kwargs)


def test_empty_dataset():
    with pytest.raises(ValueError, match='SerialIterator: the dataset is empty; an iterator '
                                         'that repeats needs at least one example'):
        SerialIterator([], 2)
    iterator = SerialIterator([], 2, repeat=False)
    assert list(iterator) == [] and iterator.epoch == 1


def _saved(iterator):
    serializer = DictionarySerializer()
    iterator.serialize(serializer)
    return serializer.target


@pytest.mark.parametrize('steps', [0, 1, 3, 4, 9])
def test_resume_reads_the_same_batches(steps):
    dataset = list(range(10))
    original = SerialIterator(dataset, 4, seed=11)
    for _ in range(steps):
        original.next()
    state = _saved(original)
    assert set(state) == {'current_position', 'epoch', 'is_new_epoch', 'order',
                          'previous_epoch_detail', 'order_sampler/rng_state'}
    resumed = SerialIterator(dataset, 4, seed=99)  # its own draws are all replaced
    NpzDeserializer(state).load(resumed)
    assert (resumed.epoch, resumed.current_position, resumed.is_new_epoch) == (
        original.epoch, original.current_position, original.is_new_epoch)
    assert resumed.previous_epoch_detail == original.previous_epoch_detail
    assert _observe(resumed, 12) == _observe(original, 12)  # over several epochs


def test_resume_through_a_file(tmp_path):
    dataset = list(range(9))
    original = SerialIterator(dataset, 2, seed=3)
    for _ in range(6):
        original.next()
    save_npz(str(tmp_path / 'iterator.npz'), original)
    resumed = SerialIterator(dataset, 2, seed=4)
    load_npz(str(tmp_path / 'iterator.npz'), resumed)
    assert _observe(resumed, 10) == _observe(original, 10)


def test_resume_with_the_global_generator_keeps_the_current_epoch():
    dataset = list(range(8))
    original = SerialIterator(dataset, 3)
    original.next()
    state = _saved(original)
    assert 'order_sampler/rng_state' not in state  # the global generator is the checkpoint's
    resumed = SerialIterator(dataset, 3)
    NpzDeserializer(state).load(resumed)
    assert _observe(resumed, 1) == _observe(original, 1)


def test_load_chainer_snapshot():
    # written by Chainer 7: SerialIterator(dataset of 4, 2, shuffle=False) after one update
    with numpy.load(os.path.join(FIXTURES, 'chainer_snapshot.npz')) as npz:
        iterator = SerialIterator(list(range(4)), 2, shuffle=False)
        NpzDeserializer(npz, path='updater/iterator:main/').load(iterator)
    assert (iterator.current_position, iterator.epoch, iterator.is_new_epoch) == (2, 0, False)
    assert iterator.epoch_detail == 0.5 and iterator.previous_epoch_detail == 0.0
    assert iterator.next() == [2, 3] and iterator.is_new_epoch and iterator.epoch == 1


def test_older_snapshot_without_previous_epoch_detail():
    state = {'current_position': numpy.array(3), 'epoch': numpy.array(1),
             'is_new_epoch': numpy.array(False)}
    iterator = SerialIterator(list(range(6)), 2, shuffle=False)
    NpzDeserializer(state).load(iterator)
    assert iterator.epoch_detail == 1.5
    assert iterator.previous_epoch_detail == pytest.approx(1 + 1 / 6)


def test_snapshot_of_another_dataset_is_refused():
    state = _saved(SerialIterator(list(range(6)), 2, shuffle=False))
    state['current_position'] = numpy.array(5)
    with pytest.raises(ValueError, match='SerialIterator.serialize: current_position 5 is '
                                         'outside a dataset of 4 examples'):
        NpzDeserializer(state).load(SerialIterator(list(range(4)), 2, shuffle=False))
    shuffled = _saved(SerialIterator(list(range(6)), 2, seed=0))
    with pytest.raises(ValueError, match='order'):
        NpzDeserializer(shuffled).load(SerialIterator(list(range(4)), 2, seed=0))
