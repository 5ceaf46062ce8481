import types

import numpy
import pytest

from dchain import distributed
from dchain.distributed.iterators import shard_bounds

from dict_serializer import DictSerializer


def ranks(size):
    """The (rank, size) view each rank's iterator has of its communicator."""
    return [types.SimpleNamespace(rank=r, size=size) for r in range(size)]


def global_batches(n, batch_size, size, epochs=2, seed=3, shuffle=True):
    """Run one iterator per simulated rank in lockstep; return the global batches seen."""
    dataset = list(range(n))
    iterators = [distributed.ShardedIterator(dataset, batch_size, c, shuffle=shuffle, seed=seed)
                 for c in ranks(size)]
    batches = []
    while iterators[0].epoch < epochs:
        parts = [next(it) for it in iterators]
        assert len({it.epoch_detail for it in iterators}) == 1
        batches.append((iterators[0].is_new_epoch, [p for p in parts]))
    return batches


@pytest.mark.parametrize('n,batch_size', [(10, 4), (12, 4), (7, 10), (5, 3)])
def test_order_does_not_depend_on_rank_count(n, batch_size):
    reference = global_batches(n, batch_size, 1)
    for size in (2, 3, 4, 8):
        batches = global_batches(n, batch_size, size)
        assert len(batches) == len(reference)
        for (new_epoch, parts), (ref_new_epoch, ref_parts) in zip(batches, reference):
            assert new_epoch == ref_new_epoch
            assert sum(parts, []) == ref_parts[0]  # rank slices concatenate to the global batch
            lengths = [len(p) for p in parts]
            assert max(lengths) - min(lengths) <= 1  # split as evenly as possible


@pytest.mark.parametrize('n,batch_size,size', [(10, 4, 1), (10, 4, 3), (9, 3, 2), (3, 8, 4)])
def test_every_example_once_per_epoch(n, batch_size, size):
    batches = global_batches(n, batch_size, size, epochs=3)
    epoch = []
    for new_epoch, parts in batches:
        epoch.extend(sum(parts, []))
        if new_epoch:
            assert sorted(epoch) == list(range(n))
            epoch = []
    assert epoch == []
    assert len(batches) == 3 * -(-n // batch_size)


def test_epochs_are_shuffled_differently_and_repeatably():
    first = global_batches(20, 20, 1, epochs=2)
    assert first[0][1][0] != first[1][1][0]
    assert first == global_batches(20, 20, 1, epochs=2)
    assert global_batches(20, 20, 1, epochs=1, seed=4) != first[:1]
    assert global_batches(6, 6, 1, shuffle=False)[0][1][0] == list(range(6))


def test_no_repeat_stops_after_one_epoch():
    comm = distributed.create_communicator('single')
    it = distributed.ShardedIterator(list(range(5)), 2, comm, repeat=False)
    assert [len(b) for b in it] == [2, 2, 1]
    with pytest.raises(StopIteration):
        next(it)


def test_epoch_detail_and_previous():
    comm = distributed.create_communicator('single')
    it = distributed.ShardedIterator(list(range(4)), 2, comm)
    assert it.previous_epoch_detail is None and it.epoch_detail == 0
    next(it)
    assert it.epoch_detail == 0.5 and it.previous_epoch_detail == 0
    next(it)
    assert it.epoch == 1 and it.is_new_epoch and it.epoch_detail == 1.0


@pytest.mark.parametrize('size_before,size_after', [(2, 1), (1, 3), (3, 2)])
def test_resume_on_another_number_of_ranks(size_before, size_after):
    dataset = list(range(11))
    reference = global_batches(11, 4, 1, epochs=3)
    flat_reference = [sum(parts, []) for _, parts in reference]
    before = [distributed.ShardedIterator(dataset, 4, c, seed=3) for c in ranks(size_before)]
    seen = []
    for _ in range(4):
        seen.append(sum([next(it) for it in before], []))
    state = {}
    before[0].serialize(DictSerializer(state, loading=False))
    after = [distributed.ShardedIterator(dataset, 4, c, seed=3) for c in ranks(size_after)]
    for it in after:
        it.serialize(DictSerializer(state, loading=True))
    for _ in range(len(flat_reference) - 4):
        seen.append(sum([next(it) for it in after], []))
    assert seen == flat_reference


def test_resume_with_another_seed_is_refused():
    comm = distributed.create_communicator('single')
    state = {}
    distributed.ShardedIterator([1, 2], 1, comm, seed=1).serialize(DictSerializer(state, False))
    with pytest.raises(ValueError, match='taken with seed 1, this iterator has seed 2'):
        distributed.ShardedIterator([1, 2], 1, comm, seed=2).serialize(
            DictSerializer(state, True))


@pytest.mark.parametrize('batch_size', [0, -1, 2.5, True])
def test_bad_batch_size(batch_size):
    comm = distributed.create_communicator('single')
    with pytest.raises(ValueError, match='ShardedIterator: batch_size must be a positive int'):
        distributed.ShardedIterator([1, 2], batch_size, comm)


def test_shard_bounds():
    assert [shard_bounds(7, 3, r) for r in range(3)] == [(0, 3), (3, 5), (5, 7)]
    assert [shard_bounds(2, 4, r) for r in range(4)] == [(0, 1), (1, 2), (2, 2), (2, 2)]


@pytest.mark.mpi
def test_real_ranks_share_the_global_batch():
    comm = distributed.create_communicator('mpi')
    dataset = list(range(13))
    it = distributed.ShardedIterator(dataset, 5, comm, seed=7)
    single = distributed.ShardedIterator(dataset, 5, distributed.create_communicator('single'),
                                         seed=7)
    for _ in range(6):
        mine = next(it)
        expected = next(single)
        assert sum(comm.allgather_obj(mine), []) == expected


@pytest.mark.parametrize('tuple_dataset', [True, False])
def test_empty_share_converts_to_zero_length_arrays(tuple_dataset):
    from dchain.dataset import concat_examples
    from dchain.datasets import TupleDataset
    x = numpy.arange(15, dtype=numpy.float32).reshape(5, 3)
    t = numpy.arange(5, dtype=numpy.int32)
    dataset = TupleDataset(x, t) if tuple_dataset else list(zip(x, t))
    # 5 = 4 + 1: in the second global batch only rank 0 of 4 has an example.
    shares = [distributed.ShardedIterator(dataset, 4, c, shuffle=False) for c in ranks(4)]
    [next(it) for it in shares]
    second = [concat_examples(next(it)) for it in shares]
    assert second[0][0].shape == (1, 3)
    for xs, ts in second[1:]:
        assert xs.shape == (0, 3) and xs.dtype == numpy.float32
        assert ts.shape == (0,) and ts.dtype == numpy.int32
