"""HDF5Dataset and NpyDataset: batched sorted reads, order restored, lazy files, pickling."""
import multiprocessing
import pickle

import h5py
import numpy
import pytest

from dchain.dataset import concat_examples
from dchain.datasets import HDF5Dataset, NpyDataset, SubDataset, TupleDataset
from dchain.iterators import SerialIterator

N = 23


def _arrays():
    x = numpy.arange(N * 6, dtype=numpy.float32).reshape(N, 2, 3)
    y = (numpy.arange(N) * 7 % 10).astype(numpy.int32)
    return x, y


@pytest.fixture(params=['hdf5', 'npy'])
def lazy(request, tmp_path):
    """``make(*names)`` -> a lazy dataset over x and/or y, and the arrays."""
    x, y = _arrays()
    arrays = {'x': x, 'y': y}
    if request.param == 'hdf5':
        path = tmp_path / 'data.h5'
        with h5py.File(path, 'w') as file:
            file['x'] = x
            file.create_group('labels')['y'] = y

        def make(*names):
            return HDF5Dataset(str(path), *[{'y': 'labels/y'}.get(n, n) for n in names])
    else:
        for name, array in arrays.items():
            numpy.save(tmp_path / (name + '.npy'), array)

        def make(*names):
            return NpyDataset(*[str(tmp_path / (name + '.npy')) for name in names])
    return make, arrays


def test_take_restores_the_requested_order(lazy):
    make, arrays = lazy
    dataset = make('x', 'y')
    assert len(dataset) == N
    indices = numpy.array([9, 2, 9, 22, 0, -1])
    batch = dataset.take(indices)
    assert dataset.reads == 1 and dataset.rows_read == 4  # 4 distinct rows in one read
    assert len(batch) == len(indices)
    for (x, y), i in zip(batch, indices):
        numpy.testing.assert_array_equal(x, arrays['x'][i])
        assert y == arrays['y'][i]
    xs, ys = concat_examples(batch)  # the batch arrays, without stacking again
    numpy.testing.assert_array_equal(xs, arrays['x'][indices])
    numpy.testing.assert_array_equal(ys, arrays['y'][indices])


def test_indexing_like_a_dataset(lazy):
    make, arrays = lazy
    single = make('y')
    assert single[3] == arrays['y'][3] and single[-1] == arrays['y'][-1]
    numpy.testing.assert_array_equal(concat_examples(single[4:10:2]), arrays['y'][4:10:2])
    x, y = make('x', 'y')[5]
    numpy.testing.assert_array_equal(x, arrays['x'][5])
    empty = make('x', 'y').take(numpy.array([], dtype=numpy.int64))
    xs, ys = concat_examples(empty)
    assert xs.shape == (0, 2, 3) and xs.dtype == numpy.float32 and ys.shape == (0,)


def test_bad_indices(lazy):
    make, _ = lazy
    dataset = make('x')
    with pytest.raises(IndexError, match='index out of range for a dataset of 23'):
        dataset.take([0, 23])
    with pytest.raises(TypeError, match=r'take: indices must be a 1-d array of ints.*float'):
        dataset.take(numpy.array([0.5]))
    with pytest.raises(TypeError, match='an index must be an int, a slice or an int array'):
        dataset['a']


def test_pickles_as_paths_and_reopens(lazy):
    make, arrays = lazy
    dataset = make('x', 'y')
    dataset.take([1, 2])
    payload = pickle.dumps(dataset)
    assert len(payload) < 1000  # the paths, not the data or an open file
    copy = pickle.loads(payload)
    numpy.testing.assert_array_equal(copy[7][0], arrays['x'][7])


def _read_in_child(dataset, queue):
    queue.put(concat_examples(dataset.take([3, 1]))[1].tolist())


def test_works_in_a_spawned_process(lazy):
    make, arrays = lazy
    dataset = make('x', 'y')
    dataset.take([0])  # the parent has the file open
    context = multiprocessing.get_context('spawn')
    queue = context.Queue()
    process = context.Process(target=_read_in_child, args=(dataset, queue))
    process.start()
    assert queue.get(timeout=60) == arrays['y'][[3, 1]].tolist()
    process.join(timeout=60)
    assert process.exitcode == 0


def test_tuple_and_sub_dataset_forward_take(lazy):
    make, arrays = lazy
    x, y = make('x'), make('y')
    tuples = TupleDataset(x, y)
    sub = SubDataset(tuples, 3, 20, numpy.arange(N)[::-1])
    batch = sub.take(numpy.array([0, 5, 1]))
    assert x.reads == 1 and y.reads == 1
    xs, ys = concat_examples(batch)
    expected = numpy.arange(N)[::-1][3 + numpy.array([0, 5, 1])]
    numpy.testing.assert_array_equal(xs, arrays['x'][expected])
    numpy.testing.assert_array_equal(ys, arrays['y'][expected])


def test_serial_iterator_reads_one_batch_at_a_time(lazy):
    make, arrays = lazy
    dataset = make('x', 'y')
    iterator = SerialIterator(dataset, 5, repeat=False, shuffle=True, seed=1)
    seen = []
    for batch in iterator:
        seen += concat_examples(batch)[1].tolist()
    assert sorted(seen) == sorted(arrays['y'].tolist())
    assert dataset.reads == 5 and dataset.rows_read == N


def test_missing_names_and_unequal_lengths(tmp_path):
    path = tmp_path / 'd.h5'
    with h5py.File(path, 'w') as file:
        file['a'] = numpy.zeros(3)
        file['b'] = numpy.zeros(4)
        file.create_group('g')
    with pytest.raises(KeyError, match=r"has nothing at 'c'.*holds \['a', 'b', 'g'\]"):
        HDF5Dataset(str(path), 'c')
    with pytest.raises(KeyError, match="has a group at 'g'"):
        HDF5Dataset(str(path), 'g')
    with pytest.raises(ValueError, match=r"same length, got 3 \('a'\) and 4 \('b'\)"):
        HDF5Dataset(str(path), 'a', 'b')
    with pytest.raises(ValueError, match='HDF5Dataset: name at least one dataset'):
        HDF5Dataset(str(path))


def test_tuple_dataset_of_h5py_datasets_reads_shuffled_batches(tmp_path):
    from dchain import distributed
    x, y = _arrays()
    with h5py.File(tmp_path / 'd.h5', 'w') as file:
        file['x'] = x
        file['y'] = y
        dataset = TupleDataset(file['x'], file['y'])  # h5py needs increasing indices
        comm = distributed.create_communicator('single')
        iterator = distributed.ShardedIterator(dataset, 5, comm, seed=3, repeat=False)
        seen = []
        for batch in iterator:
            xs, ys = concat_examples(batch)
            rows = (xs[:, 0, 0] // 6).astype(int)  # x's rows say which example they are
            numpy.testing.assert_array_equal(xs, x[rows])
            numpy.testing.assert_array_equal(ys, y[rows])
            seen += rows.tolist()
        assert sorted(seen) == list(range(N))
        xs, _ = concat_examples(dataset[numpy.array([4, 1, 4, -1])])
        numpy.testing.assert_array_equal(xs, x[[4, 1, 4, -1]])


def test_npy_of_objects_is_refused(tmp_path):
    path = tmp_path / 'objects.npy'
    numpy.save(path, numpy.array([{'a': 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r'NpyDataset: cannot map .*objects\.npy'):
        NpyDataset(str(path))


def test_an_empty_share_reads_nothing(lazy):
    import types
    from dchain import distributed
    make, arrays = lazy
    dataset = make('x', 'y')
    last_rank = types.SimpleNamespace(rank=3, size=4)
    iterator = distributed.ShardedIterator(dataset, 20, last_rank, shuffle=False)
    first = next(iterator)  # 20 = 4 x 5: five examples for this rank
    assert len(first) == 5 and dataset.rows_read == 5
    xs, ys = concat_examples(next(iterator))  # 3 examples left: none for rank 3
    assert xs.shape == (0, 2, 3) and ys.shape == (0,) and ys.dtype == numpy.int32
    assert dataset.rows_read == 5 and dataset.reads == 1
