"""DatasetMixin, take_examples and the Iterator base class."""
import numpy
import pytest

from dchain.dataset import DatasetMixin, Iterator
from dchain.dataset.dataset_mixin import take_examples


class Squares(DatasetMixin):
    def __init__(self, size):
        self.size = size
        self.reads = 0

    def __len__(self):
        return self.size

    def get_example(self, i):
        self.reads += 1
        return i * i


def test_indexing():
    dataset = Squares(6)
    assert dataset[3] == 9
    assert dataset[1:5:2] == [1, 9]
    assert dataset[::-1] == [25, 16, 9, 4, 1, 0]
    assert dataset[[4, 0]] == [16, 0]
    assert dataset[numpy.array([2, 2])] == [4, 4]
    assert dataset.reads == 1 + 2 + 6 + 2 + 2


def test_unimplemented():
    dataset = DatasetMixin()
    with pytest.raises(NotImplementedError):
        len(dataset)
    with pytest.raises(NotImplementedError):
        dataset[0]


@pytest.mark.parametrize('make', [
    lambda: list(range(10, 20)), lambda: tuple(range(10, 20)), lambda: numpy.arange(10, 20),
    lambda: Squares(10)])
def test_take_examples(make):
    dataset = make()
    examples = take_examples(dataset, numpy.array([7, 2, 2]))
    assert [int(e) for e in examples] == [int(dataset[i]) for i in (7, 2, 2)]


def test_iterator_protocol():
    finalized = []

    class Counting(Iterator):
        def __init__(self):
            self.count = 0

        def __next__(self):
            self.count += 1
            if self.count > 3:
                raise StopIteration
            return [self.count]

        def finalize(self):
            finalized.append(True)

    with Counting() as iterator:
        assert iterator.next() == [1]
        assert list(iterator) == [[2], [3]]
    assert finalized == [True]
    with pytest.raises(NotImplementedError):
        next(Iterator())
    Iterator().serialize(None)  # nothing to save
