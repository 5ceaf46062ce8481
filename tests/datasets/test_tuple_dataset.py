"""TupleDataset and DictDataset: indexing by int, slice, list and array; length checks."""
import numpy
import pytest

from dchain.dataset.convert import GatheredBatch
from dchain.datasets import DictDataset, TupleDataset


def _parts(xp, size):
    x = xp.arange(size * 3, dtype=xp.float32).reshape(size, 3)
    t = xp.arange(size, dtype=xp.int32) * 10
    return x, t


@pytest.mark.parametrize('size', [1, 5, 8])
def test_tuple_int_and_negative(xp, size):
    x, t = _parts(xp, size)
    dataset = TupleDataset(x, t)
    assert len(dataset) == size
    for i in range(-size, size):
        example = dataset[i]
        assert isinstance(example, tuple) and len(example) == 2
        assert (example[0] == x[i]).all() and example[1] == t[i]


@pytest.mark.parametrize('index', [slice(1, 4), slice(None, None, -2), [3, 0, 3],
                                   numpy.array([4, 1]), numpy.array([], dtype=numpy.int64)])
def test_tuple_many(xp, index):
    x, t = _parts(xp, 5)
    labels = ['a', 'b', 'c', 'd', 'e']  # a list part takes index arrays too
    dataset = TupleDataset(x, t, labels)
    batch = dataset[index]
    positions = list(range(5))[index] if isinstance(index, slice) else list(index)
    assert isinstance(batch, list) and len(batch) == len(positions)
    for example, i in zip(batch, positions):
        assert (example[0] == x[i]).all() and example[1] == t[i] and example[2] == labels[i]


def test_tuple_index_array_keeps_the_gathered_arrays(xp):
    x, t = _parts(xp, 6)
    batch = TupleDataset(x, t)[numpy.array([5, 2])]
    assert isinstance(batch, GatheredBatch)
    gathered_x, gathered_t = batch.gathered_arrays()
    assert (gathered_x == x[numpy.array([5, 2])]).all() and (gathered_t == t[[5, 2]]).all()
    # a list part yields a plain list, with nothing gathered
    assert type(TupleDataset(x, list(range(6)))[[1, 2]]) is list


def test_tuple_of_one_and_of_other_datasets():
    inner = TupleDataset(numpy.arange(4), numpy.arange(4) * 2)
    dataset = TupleDataset(inner, numpy.arange(4) + 100)
    assert dataset[1][0] == (1, 2) and dataset[1][1] == 101
    assert TupleDataset([7, 8])[1] == (8,)


def test_tuple_lengths_must_match():
    with pytest.raises(ValueError, match=r'TupleDataset: every dataset must have the same '
                                         r'length, got 3 \(dataset 0\) and 2 \(dataset 2\)'):
        TupleDataset(numpy.zeros(3), [1, 2, 3], numpy.zeros(2))
    with pytest.raises(ValueError, match='TupleDataset: no datasets are given'):
        TupleDataset()


def test_dict(xp):
    x, t = _parts(xp, 4)
    dataset = DictDataset(x=x, t=t)
    assert len(dataset) == 4
    example = dataset[-1]
    assert sorted(example) == ['t', 'x'] and (example['x'] == x[3]).all() and example['t'] == t[3]
    for index in (slice(0, 3, 2), [2, 0], numpy.array([1, 3])):
        batch = dataset[index]
        positions = list(range(4))[index] if isinstance(index, slice) else list(index)
        assert [int(e['t']) for e in batch] == [int(t[i]) for i in positions]
        assert all((e['x'] == x[i]).all() for e, i in zip(batch, positions))
    assert isinstance(dataset[[2, 0]], GatheredBatch)


def test_dict_lengths_must_match():
    with pytest.raises(ValueError, match=r"DictDataset: every dataset must have the same length, "
                                         r"got 3 \('a'\) and 4 \('b'\)"):
        DictDataset(a=numpy.zeros(3), b=numpy.zeros(4))
    with pytest.raises(ValueError, match='DictDataset: no datasets are given'):
        DictDataset()
