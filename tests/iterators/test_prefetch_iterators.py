"""MultithreadIterator and MultiprocessIterator: the batches, positions and snapshots of
SerialIterator, read ahead; worker exceptions, timeouts, shared memory, finalize."""
import concurrent.futures
import os
import threading
import time
import traceback
import types

import h5py
import numpy
import pytest

from dchain.dataset import DatasetMixin, concat_examples
from dchain.datasets import HDF5Dataset, TupleDataset
from dchain.iterators import (MultiprocessIterator, MultithreadIterator, SerialIterator,
                              multiprocess_iterator)
from dchain.serializers import DictionarySerializer, NpzDeserializer

N = 11


class Squares(DatasetMixin):
    """Examples read one at a time (no take): (i, i * i as an array)."""

    def __init__(self, n=N, fail_at=None, exit_at=None, delay=0.0):
        self.n, self.fail_at, self.exit_at, self.delay = n, fail_at, exit_at, delay

    def __len__(self):
        return self.n

    def get_example(self, i):
        time.sleep(self.delay)
        if i == self.fail_at:
            raise KeyError('example {} is broken'.format(i))
        if i == self.exit_at:
            os._exit(3)
        return numpy.int64(i), numpy.full(3, i * i, dtype=numpy.float32)


def _make(cls, dataset, batch_size, **kwargs):
    if cls is MultithreadIterator:
        kwargs.pop('n_prefetch', None)
        return cls(dataset, batch_size, n_threads=2, **kwargs)
    return cls(dataset, batch_size, n_processes=2, **kwargs)


def _ids(batch):
    return [int(example[0]) for example in batch]


def _observe(iterator, count):
    seen = []
    for _ in range(count):
        try:
            batch = next(iterator)
        except StopIteration:
            break
        seen.append((_ids(batch), iterator.epoch, iterator.is_new_epoch, iterator.epoch_detail,
                     iterator.previous_epoch_detail))
    return seen


@pytest.fixture
def h5_dataset(tmp_path):
    path = tmp_path / 'd.h5'
    with h5py.File(path, 'w') as file:
        file['i'] = numpy.arange(N, dtype=numpy.int64)
        file['x'] = (numpy.arange(N, dtype=numpy.float32) ** 2)[:, None].repeat(3, 1)
    return HDF5Dataset(str(path), 'i', 'x')


ITERATORS = [MultithreadIterator, MultiprocessIterator]


@pytest.mark.parametrize('cls', ITERATORS)
@pytest.mark.parametrize('kind', ['mixin', 'tuple', 'hdf5'])
@pytest.mark.parametrize('repeat, shuffle', [(True, True), (True, False), (False, True)])
def test_same_batches_as_serial_iterator(cls, kind, repeat, shuffle, h5_dataset):
    dataset = {'mixin': Squares(), 'hdf5': h5_dataset,
               'tuple': TupleDataset(numpy.arange(N), numpy.arange(N * 3.).reshape(N, 3))}[kind]
    with _make(cls, dataset, 4, repeat=repeat, shuffle=shuffle, seed=7, n_prefetch=3) as it:
        reference = SerialIterator(dataset, 4, repeat=repeat, shuffle=shuffle, seed=7)
        assert _observe(it, 9) == _observe(reference, 9)
        if kind != 'tuple':
            it.reset()
            reference.reset()
            batch, expected = next(it), next(reference)
            numpy.testing.assert_array_equal(concat_examples(batch)[1],
                                             concat_examples(expected)[1])


@pytest.mark.parametrize('cls', ITERATORS)
@pytest.mark.parametrize('steps', [0, 2, 3, 5])
def test_resume_reads_the_same_batches(cls, steps):
    dataset = Squares()
    with _make(cls, dataset, 4, seed=11, n_prefetch=2) as original:
        for _ in range(steps):
            next(original)
        serializer = DictionarySerializer()
        serializer.save(original)
        state = serializer.target
        expected = _observe(original, 8)
    reference = SerialIterator(dataset, 4, seed=11)
    for _ in range(steps):
        next(reference)
    assert state['current_position'] == reference.current_position  # not the read-ahead one
    with _make(cls, dataset, 4, seed=3, n_prefetch=2) as resumed:
        next(resumed)  # batches read ahead from another position are dropped on load
        NpzDeserializer(state).load(resumed)
        assert _observe(resumed, 8) == expected
    serial = SerialIterator(dataset, 4, seed=5)  # the snapshot is SerialIterator's
    NpzDeserializer(state).load(serial)
    assert _observe(serial, 8) == expected


@pytest.mark.parametrize('cls', ITERATORS)
def test_a_worker_exception_surfaces_with_its_traceback(cls):
    with _make(cls, Squares(fail_at=6), 4, shuffle=False) as it:
        next(it)
        with pytest.raises(KeyError, match='example 6 is broken') as error:
            next(it)
    if cls is MultiprocessIterator:  # the worker's traceback, as the cause
        text = str(error.value.__cause__)
    else:
        text = ''.join(traceback.format_tb(error.value.__traceback__))
    assert 'get_example' in text and 'raise KeyError' in text


def test_a_worker_that_dies_is_an_error_not_a_hang():
    with MultiprocessIterator(Squares(exit_at=5), 4, shuffle=False, n_processes=2) as it:
        next(it)
        with pytest.raises(concurrent.futures.process.BrokenProcessPool):
            next(it)


@pytest.mark.parametrize('cls', ITERATORS)
def test_finalize_stops_the_workers(cls):
    before = threading.active_count()
    it = _make(cls, Squares(), 3, n_prefetch=2)
    next(it)
    if cls is MultiprocessIterator:
        processes = list(it._executor._processes.values())
        assert processes and all(process.is_alive() for process in processes)
    it.finalize()
    it.finalize()  # twice is harmless
    if cls is MultiprocessIterator:
        assert not any(process.is_alive() for process in processes)
    assert threading.active_count() <= before
    with pytest.raises(RuntimeError, match='finalized; make a new one'):
        next(it)


def test_dataset_timeout_warns():
    with MultiprocessIterator(Squares(delay=0.4), 2, n_processes=1, shared_mem=64,
                              dataset_timeout=0.1) as it:
        with pytest.warns(MultiprocessIterator.TimeoutWarning, match='dataset_timeout'):
            next(it)


def test_shared_memory_too_small_warns_and_still_delivers():
    dataset = Squares()
    with MultiprocessIterator(dataset, 4, shuffle=False, n_processes=2, shared_mem=8) as it:
        with pytest.warns(UserWarning, match='does not fit in the shared memory of 8 bytes'):
            batch = next(it)
    assert _ids(batch) == [0, 1, 2, 3]
    numpy.testing.assert_array_equal(batch[3][1], [9, 9, 9])


def test_shared_memory_measured_on_the_first_batch():
    with MultiprocessIterator(Squares(), 4, shuffle=False, n_processes=2) as it:
        batches = [next(it) for _ in range(4)]
        assert it._mem_size == 12  # three float32
    assert [_ids(batch) for batch in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 0],
                                                  [1, 2, 3, 4]]
    numpy.testing.assert_array_equal(batches[2][2][1], [100, 100, 100])


def test_no_fork_once_mpi_is_initialized(monkeypatch, h5_dataset):
    fake = types.SimpleNamespace(Is_initialized=lambda: True, Is_finalized=lambda: False)
    monkeypatch.setitem(__import__('sys').modules, 'mpi4py.MPI', fake)
    assert multiprocess_iterator.start_method() in ('forkserver', 'spawn')
    with MultiprocessIterator(h5_dataset, 5, seed=2, n_processes=2) as it:
        reference = SerialIterator(h5_dataset, 5, seed=2)
        assert _observe(it, 4) == _observe(reference, 4)
        assert it._executor._mp_context.get_start_method() in ('forkserver', 'spawn')


@pytest.mark.parametrize('kwargs, match', [
    ({'n_processes': 0}, 'n_processes must be None or a positive int'),
    ({'shared_mem': -1}, 'shared_mem must be None or a non-negative int'),
    ({'n_prefetch': 0}, 'n_prefetch must be a positive int')])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match='MultiprocessIterator: ' + match):
        MultiprocessIterator(Squares(), 2, **kwargs)
    with pytest.raises(ValueError, match='MultithreadIterator: n_threads must be a positive'):
        MultithreadIterator(Squares(), 2, n_threads=0)


def test_a_dataset_that_cannot_pickle_is_refused_clearly_without_fork(monkeypatch):
    monkeypatch.setattr(multiprocess_iterator, 'start_method', lambda *args: 'forkserver')
    dataset = Squares()
    dataset.lock = threading.Lock()  # does not pickle
    it = MultiprocessIterator(dataset, 2, n_processes=1, shared_mem=0)
    with pytest.raises(TypeError, match='workers start by forkserver.*the dataset must pickle.*'
                                        'HDF5Dataset, NpyDataset'):
        next(it)
    it.finalize()


@pytest.mark.slow
def test_maxtasksperchild_replaces_workers_and_changes_nothing():
    with MultiprocessIterator(Squares(), 3, seed=4, n_processes=1, maxtasksperchild=1) as it:
        reference = SerialIterator(Squares(), 3, seed=4)
        assert _observe(it, 5) == _observe(reference, 5)
        assert it._executor._mp_context.get_start_method() in ('forkserver', 'spawn')


@pytest.mark.parametrize('cls', ITERATORS)
def test_global_generator_orders_are_serial_iterators(cls):
    import dchain
    dataset = Squares()
    dchain.random.seed(21)
    with _make(cls, dataset, 4, n_prefetch=2) as it:  # shuffles from the global generator
        seen = _observe(it, 8)
    dchain.random.seed(21)
    assert seen == _observe(SerialIterator(dataset, 4), 8)
