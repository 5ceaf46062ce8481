import pickle

import pytest

from dchain.datasets import TextDataset


@pytest.fixture
def texts(tmp_path):
    first = tmp_path / 'a.txt'
    second = tmp_path / 'b.txt'
    first.write_text('one\ntwo\nthree\n')
    second.write_text('uno\ndos\ntres\n')
    return str(first), str(second)


def test_lines_of_one_file(texts):
    dataset = TextDataset(texts[0])
    assert len(dataset) == 3
    assert dataset[0] == 'one\n' and dataset[2] == 'three\n' and dataset[-1] == 'three\n'
    assert dataset[1:] == ['two\n', 'three\n']
    with pytest.raises(IndexError, match='TextDataset: index 3 out of range for 3 lines'):
        dataset[3]


def test_files_side_by_side_and_filter(texts):
    dataset = TextDataset(list(texts), filter_func=lambda a, b: a != 'two\n')
    assert len(dataset) == 2
    assert dataset[1] == ('three\n', 'tres\n')


def test_unequal_files_are_refused(texts, tmp_path):
    short = tmp_path / 'c.txt'
    short.write_text('x\n')
    with pytest.raises(ValueError, match='same number of lines'):
        TextDataset([texts[0], str(short)])
    with pytest.raises(ValueError, match='encoding must be one value or one per file'):
        TextDataset(list(texts), encoding=['utf-8'])


def test_pickles_without_its_files_and_reads_after(texts):
    dataset = TextDataset(texts[1], encoding='utf-8')
    assert dataset[0] == 'uno\n'  # opens the file
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy[2] == 'tres\n' and dataset[1] == 'dos\n'
    dataset.close()
    assert dataset[0] == 'uno\n'
