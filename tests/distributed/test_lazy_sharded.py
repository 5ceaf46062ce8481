"""ShardedIterator over an HDF5Dataset on real ranks: every example once per epoch, each rank
reads only its share (counted), and a run resumes mid-epoch at another number of ranks.
Passes at any number of processes (run at 2 and 3)."""
import h5py
import numpy
import pytest

from dchain import distributed
from dchain.dataset import concat_examples
from dchain.datasets import HDF5Dataset

from dict_serializer import DictSerializer

N = 29
BATCH = 6


@pytest.fixture
def comm():
    return distributed.create_communicator('mpi')


@pytest.fixture
def h5_path(comm, tmp_path):
    path = None
    if comm.rank == 0:
        path = str(tmp_path / 'data.h5')
        with h5py.File(path, 'w') as file:
            file['x'] = numpy.arange(N * 4, dtype=numpy.float32).reshape(N, 4)
            file['y'] = numpy.arange(N, dtype=numpy.int64)
    return comm.bcast_obj(path)


def _labels(batch):
    return concat_examples(batch)[1].tolist()


def _reference(epochs):
    single = distributed.ShardedIterator(list(range(N)), BATCH,
                                         distributed.create_communicator('single'), seed=5)
    batches = []
    while single.epoch < epochs:
        batches.append(next(single))
    return batches


@pytest.mark.mpi
def test_every_example_once_per_epoch_and_only_the_share_is_read(comm, h5_path):
    dataset = HDF5Dataset(h5_path, 'x', 'y')
    iterator = distributed.ShardedIterator(dataset, BATCH, comm, seed=5)
    reference = _reference(2)
    mine = []
    for expected in reference:
        batch = next(iterator)
        xs, ys = concat_examples(batch)
        numpy.testing.assert_array_equal(xs[:, 0], ys * 4)  # rows stay together
        mine.append(ys.tolist())
        shares = comm.allgather_obj(ys.tolist())
        assert sum(shares, []) == expected  # the global batch, in order, split by rank
    per_epoch = len(reference) // 2
    for epoch in range(2):
        seen = sum(comm.allgather_obj(sum(mine[epoch * per_epoch:(epoch + 1) * per_epoch], [])),
                   [])
        assert sorted(seen) == list(range(N))
    # the reads: this rank's examples, one read per non-empty share, and no more
    assert dataset.rows_read == sum(len(share) for share in mine)
    assert dataset.reads == sum(1 for share in mine if share)
    assert sum(comm.allgather_obj(dataset.rows_read)) == 2 * N


@pytest.mark.mpi
def test_resume_mid_epoch_at_another_rank_count(comm, h5_path):
    reference = _reference(3)
    steps_before = len(reference) // 3 + 2  # into the second epoch, mid-epoch
    # the first part runs on one rank fewer (all ranks when there is just one)
    fewer = max(comm.size - 1, 1)
    sub = comm.split(0 if comm.rank < fewer else 1, comm.rank)
    shares = []
    state = {}
    if comm.rank < fewer:
        dataset = HDF5Dataset(h5_path, 'x', 'y')
        before = distributed.ShardedIterator(dataset, BATCH, sub, seed=5)
        shares = [_labels(next(before)) for _ in range(steps_before)]
        assert dataset.rows_read == sum(len(share) for share in shares)
        before.serialize(DictSerializer(state, loading=False))
    state = comm.bcast_obj(state)
    gathered = comm.allgather_obj(shares)
    for step in range(steps_before):
        assert sum((gathered[r][step] for r in range(fewer)), []) == reference[step]
    dataset = HDF5Dataset(h5_path, 'x', 'y')
    after = distributed.ShardedIterator(dataset, BATCH, comm, seed=5)
    after.serialize(DictSerializer(state, loading=True))
    mine = []
    for expected in reference[steps_before:]:
        share = _labels(next(after))
        mine.append(share)
        assert sum(comm.allgather_obj(share), []) == expected
    assert after.epoch == 3
    assert dataset.rows_read == sum(len(share) for share in mine)
