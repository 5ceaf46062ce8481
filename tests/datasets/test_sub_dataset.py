"""SubDataset, split_dataset, split_dataset_random and TransformDataset."""
import numpy
import pytest

import dchain
from dchain.datasets import (SubDataset, TransformDataset, TupleDataset, split_dataset,
                             split_dataset_random)


@pytest.mark.parametrize('start, finish', [(0, 10), (2, 7), (4, 4), (9, 10)])
@pytest.mark.parametrize('with_order', [False, True])
def test_sub_dataset_matches_reference(start, finish, with_order):
    base = list(range(100, 110))
    order = numpy.random.default_rng(0).permutation(10) if with_order else None
    reference = [base[i] for i in (order if with_order else range(10))][start:finish]
    sub = SubDataset(base, start, finish, order)
    assert len(sub) == len(reference)
    assert [sub[i] for i in range(len(sub))] == reference
    assert [sub[-i] for i in range(1, len(sub) + 1)] == reference[::-1]
    assert sub[:] == reference and sub[::-2] == reference[::-2]
    if reference:
        picks = [len(reference) - 1, 0, -1]
        assert sub[picks] == [reference[i] for i in picks]
        assert sub[numpy.array(picks)] == [reference[i] for i in picks]
    assert sub[[]] == []


def test_sub_dataset_of_arrays_gathers_at_once():
    x = numpy.arange(20).reshape(10, 2)
    sub = SubDataset(TupleDataset(x, numpy.arange(10)), 3, 8, numpy.arange(10)[::-1])
    batch = sub[numpy.array([0, 4])]
    assert [int(t) for _, t in batch] == [6, 2]
    assert (batch[1][0] == x[2]).all()
    rows = SubDataset(x, 2, 5)[[0, 2]]
    assert (numpy.stack(rows) == x[[2, 4]]).all()


def test_sub_dataset_errors():
    with pytest.raises(ValueError, match=r'SubDataset: need 0 <= start <= finish <= '
                                         r'len\(dataset\) = 3, got start=1 and finish=4'):
        SubDataset([1, 2, 3], 1, 4)
    with pytest.raises(ValueError, match='start=2 and finish=1'):
        SubDataset([1, 2, 3], 2, 1)
    with pytest.raises(TypeError, match='SubDataset: start and finish must be ints, got float'):
        SubDataset([1, 2, 3], 0.5, 2)
    with pytest.raises(ValueError, match=r'order must be a 1-d int array as long as the dataset '
                                         r'\(3\), got shape \(2,\)'):
        SubDataset([1, 2, 3], 0, 2, [1, 0])
    sub = SubDataset([1, 2, 3], 1, 3)
    with pytest.raises(IndexError, match='SubDataset: index 2 out of range for a dataset of 2'):
        sub[2]
    with pytest.raises(IndexError, match='index -3 out of range'):
        sub[-3]
    with pytest.raises(IndexError, match='index out of range for a dataset of 2'):
        sub[[0, 5]]
    with pytest.raises(TypeError, match='an index array must hold ints, got float64'):
        sub[numpy.array([0.5])]


@pytest.mark.parametrize('split_at', [0, 3, 10])
def test_split_dataset(split_at):
    base = list(range(10))
    first, second = split_dataset(base, split_at)
    assert first[:] == base[:split_at] and second[:] == base[split_at:]
    order = numpy.arange(10)[::-1]
    first, second = split_dataset(base, split_at, order)
    assert first[:] + second[:] == base[::-1]


def test_split_dataset_errors():
    with pytest.raises(TypeError, match='split_dataset: split_at must be an int, got float'):
        split_dataset([1, 2], 1.0)
    with pytest.raises(ValueError, match=r'split_dataset: split_at must lie in \[0, 2\] '
                                         r'\(the dataset size\), got 3'):
        split_dataset([1, 2], 3)
    with pytest.raises(ValueError, match='got -1'):
        split_dataset([1, 2], -1)


def test_split_dataset_random():
    base = list(range(50))
    first, second = split_dataset_random(base, 20, seed=3)
    assert len(first) == 20 and len(second) == 30
    assert sorted(first[:] + second[:]) == base
    # an int seed gives the permutation of RandomState(seed), as Chainer's does
    expected = numpy.random.RandomState(3).permutation(50)
    assert first[:] == expected[:20].tolist()
    again, _ = split_dataset_random(base, 20, seed=3)
    assert again[:] == first[:]
    # no seed: dchain's global generator, repeatable with dchain.random.seed
    dchain.random.seed(7)
    a, _ = split_dataset_random(base, 20)
    dchain.random.seed(7)
    b, _ = split_dataset_random(base, 20)
    c, _ = split_dataset_random(base, 20)
    assert a[:] == b[:] and a[:] != c[:]


def test_transform_dataset():
    calls = []

    def transform(example):
        calls.append(example)
        x, t = example
        return x * 2, t + 1

    base = TupleDataset(numpy.arange(6.).reshape(3, 2), numpy.arange(3))
    dataset = TransformDataset(base, transform)
    assert len(dataset) == 3
    x, t = dataset[1]
    assert (x == [4., 6.]).all() and t == 2
    assert [int(t) for _, t in dataset[numpy.array([2, 0])]] == [3, 1]
    assert [int(t) for _, t in dataset[1:]] == [2, 3]
    assert len(calls) == 5  # computed on every read
    with pytest.raises(TypeError, match='TransformDataset: transform must be callable, got int'):
        TransformDataset(base, 3)


def test_split_dataset_n_random_matches_chainer_split():
    from dchain.datasets import split_dataset_n, split_dataset_n_random
    data = numpy.arange(10) * 10
    parts = split_dataset_n_random(data, 3, seed=5)
    order = numpy.random.RandomState(5).permutation(10)
    assert [len(part) for part in parts] == [3, 3, 3]
    for i, part in enumerate(parts):
        assert [int(x) for x in part[:]] == [int(data[j]) for j in order[3 * i:3 * i + 3]]
    seen = numpy.concatenate([numpy.asarray(part[:]) for part in parts])
    assert len(set(seen.tolist())) == 9
    assert [list(p[:]) for p in split_dataset_n(data, 2)] == [list(data[:5]), list(data[5:])]
    with pytest.raises(ValueError, match='split_dataset_n: n must be a positive int'):
        split_dataset_n(data, 0)
