"""create_multi_node_iterator and create_synchronized_iterator: every rank reads the same
batches; scatter_index: the index arithmetic of scatter_dataset. MPI tests pass at any number
of ranks."""
import io

import numpy
import pytest

import dchain
from dchain import datasets, distributed, iterators, serializers


def make_dataset(n=10):
    return datasets.TupleDataset(numpy.arange(n, dtype=numpy.float32).reshape(n, 1),
                                 numpy.arange(n, dtype=numpy.int32))


def batch_ids(batch):
    return [int(t) for _, t in batch]


def reference_batches(n, batch_size, steps, repeat=True):
    iterator = iterators.SerialIterator(make_dataset(n), batch_size, repeat=repeat, seed=3)
    out = []
    for _ in range(steps):
        try:
            out.append((batch_ids(next(iterator)), iterator.epoch, iterator.is_new_epoch))
        except StopIteration:
            out.append('stop')
    return out


def run_multi_node(comm, rank_master, n, batch_size, steps, repeat=True):
    actual = None
    if comm.rank == rank_master:
        actual = iterators.SerialIterator(make_dataset(n), batch_size, repeat=repeat, seed=3)
    iterator = distributed.create_multi_node_iterator(actual, comm, rank_master=rank_master)
    out = []
    for _ in range(steps):
        try:
            out.append((batch_ids(next(iterator)), iterator.epoch, iterator.is_new_epoch))
        except StopIteration:
            out.append('stop')
    return out, iterator


def test_multi_node_iterator_on_one_process_is_the_actual_iterator():
    comm = distributed.create_communicator('single')
    out, iterator = run_multi_node(comm, 0, 10, 4, 6)
    assert out == reference_batches(10, 4, 6)
    assert iterator.batch_size == 4  # other attributes come from the actual iterator


def test_multi_node_iterator_refuses_bad_arguments():
    comm = distributed.create_communicator('single')
    with pytest.raises(ValueError, match='rank_master must be a rank in'):
        distributed.create_multi_node_iterator(None, comm, rank_master=1)
    with pytest.raises(ValueError, match='must pass an iterator'):
        distributed.create_multi_node_iterator(None, comm)


@pytest.mark.mpi
@pytest.mark.parametrize('last', [False, True])
def test_multi_node_iterator_gives_every_rank_the_masters_batches(last):
    comm = distributed.create_communicator('mpi')
    master = comm.size - 1 if last else 0
    out, iterator = run_multi_node(comm, master, 10, 4, 7)
    assert out == reference_batches(10, 4, 7)
    assert iterator.epoch_detail == pytest.approx(reference_epoch_detail(10, 4, 7))
    assert len({repr(theirs) for theirs in comm.allgather_obj(out)}) == 1


def reference_epoch_detail(n, batch_size, steps):
    iterator = iterators.SerialIterator(make_dataset(n), batch_size, seed=3)
    for _ in range(steps):
        next(iterator)
    return iterator.epoch_detail


@pytest.mark.mpi
def test_multi_node_iterator_ends_on_every_rank_together():
    comm = distributed.create_communicator('mpi')
    out, _ = run_multi_node(comm, 0, 10, 4, 5, repeat=False)
    assert out[3:] == ['stop', 'stop']
    assert out == reference_batches(10, 4, 5, repeat=False)


@pytest.mark.mpi
def test_multi_node_iterator_resumes_from_the_masters_snapshot():
    comm = distributed.create_communicator('mpi')
    _, iterator = run_multi_node(comm, 0, 10, 4, 3)
    payload = None
    if comm.rank == 0:  # a snapshot is written by rank 0, the master
        stream = io.BytesIO()
        serializers.save_npz(stream, iterator)
        payload = stream.getvalue()
    payload = comm.bcast_obj(payload)
    _, resumed = run_multi_node(comm, 0, 10, 4, 0)
    serializers.load_npz(io.BytesIO(payload), resumed)
    assert (resumed.epoch, resumed.current_position) == (iterator.epoch,
                                                         iterator.current_position)
    after = [batch_ids(next(resumed)) for _ in range(3)]
    expected = [ids for ids, _, _ in reference_batches(10, 4, 6)[3:]]
    assert after == expected


@pytest.mark.mpi
def test_synchronized_iterator_reads_the_same_order_on_every_rank():
    comm = distributed.create_communicator('mpi')
    dchain.random.seed(100 + comm.rank)  # each rank's own generator differs
    iterator = iterators.SerialIterator(make_dataset(13), 4)
    synchronized = distributed.create_synchronized_iterator(iterator, comm)
    assert synchronized is iterator
    batches = [batch_ids(next(iterator)) for _ in range(8)]  # over two epochs
    everyone = comm.allgather_obj(batches)
    assert all(theirs == everyone[0] for theirs in everyone)
    assert sorted(sum(batches[:4], [])[:13]) == list(range(13))


@pytest.mark.mpi
def test_synchronized_iterator_keeps_an_unshuffled_iterator_in_order():
    comm = distributed.create_communicator('mpi')
    iterator = iterators.SerialIterator(make_dataset(6), 4, shuffle=False)
    distributed.create_synchronized_iterator(iterator, comm)
    assert batch_ids(next(iterator)) == [0, 1, 2, 3]


@pytest.mark.mpi
def test_synchronized_iterator_refuses_different_datasets_on_every_rank():
    comm = distributed.create_communicator('mpi')
    if comm.size < 2:
        pytest.skip('needs two ranks')
    iterator = iterators.SerialIterator(make_dataset(10 + (comm.rank == 1)), 4)
    with pytest.raises(ValueError, match='rank 1 has'):
        distributed.create_synchronized_iterator(iterator, comm)


def test_synchronized_iterator_needs_an_order_sampler():
    comm = distributed.create_communicator('single')
    with pytest.raises(ValueError, match='must have an order_sampler'):
        distributed.create_synchronized_iterator(distributed.ShardedIterator(
            make_dataset(), 2, comm), comm)


@pytest.mark.parametrize('n', [1, 7, 10, 12])
@pytest.mark.parametrize('size', [1, 2, 3, 4])
def test_scatter_index_parts(n, size):
    class Comm:
        def __init__(self, rank):
            self.rank, self.size = rank, size

        def allgather_obj(self, obj):
            return [obj] * size

    equal = [distributed.scatter_index(n, Comm(r)) for r in range(size)]
    assert len({stop - start for start, stop in equal}) == 1
    assert equal[0][0] == 0 and equal[-1][1] == n
    assert set().union(*[range(*part) for part in equal]) == set(range(n))
    exact = [distributed.scatter_index(n, Comm(r), force_equal_length=False)
             for r in range(size)]
    assert [i for part in exact for i in range(*part)] == list(range(n))


@pytest.mark.mpi
@pytest.mark.parametrize('force_equal_length', [True, False])
def test_scatter_index_matches_scatter_dataset(force_equal_length):
    comm = distributed.create_communicator('mpi')
    n = 11
    data = numpy.arange(n) if comm.rank == 0 else None
    part = distributed.scatter_dataset(data, comm, force_equal_length=force_equal_length)
    start, stop = distributed.scatter_index(n if comm.rank == 0 else None, comm,
                                            force_equal_length=force_equal_length)
    assert list(part) == list(range(start, stop))


@pytest.mark.mpi
def test_scatter_index_refuses_disagreeing_counts_on_every_rank():
    comm = distributed.create_communicator('mpi')
    if comm.size < 2:
        pytest.skip('needs two ranks')
    with pytest.raises(ValueError, match='differs between ranks: rank 0 has 10, ranks 1 have 11'):
        distributed.scatter_index(10 + (comm.rank == 1), comm)


def test_scatter_index_refuses_bad_counts():
    comm = distributed.create_communicator('single')
    with pytest.raises(ValueError, match='non-negative int'):
        distributed.scatter_index(-1, comm)
    with pytest.raises(ValueError, match='must pass n_total_samples'):
        distributed.scatter_index(None, comm)
