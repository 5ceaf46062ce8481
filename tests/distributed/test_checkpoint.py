"""create_multi_node_checkpointer: rank 0 writes single-file checkpoints, every rank resumes
from the newest valid one. MPI tests pass at any number of ranks."""
import os

import numpy
import pytest

import dchain
import dchain.links as L
from dchain import datasets, distributed, optimizers, training


class Crash(Exception):
    pass


def make_trainer(comm, out, stop=10, crash_at=None, checkpointer=None):
    dchain.random.seed(1)
    model = L.Classifier(L.Linear(4, 3))
    optimizer = distributed.create_multi_node_optimizer(optimizers.Adam(alpha=0.05), comm)
    optimizer.setup(model)
    rng = numpy.random.default_rng(0)
    train = datasets.TupleDataset(rng.standard_normal((30, 4)).astype(numpy.float32),
                                  rng.integers(0, 3, 30).astype(numpy.int32))
    iterator = distributed.ShardedIterator(train, 6, comm, seed=2)
    trainer = training.Trainer(training.StandardUpdater(iterator, optimizer),
                               (stop, 'iteration'), out=str(out))
    if checkpointer is not None:
        trainer.extend(checkpointer, trigger=(2, 'iteration'))
    if crash_at is not None:
        def crash(trainer):
            if trainer.updater.iteration == crash_at:
                raise Crash('stop here')
        trainer.extend(crash)
    return trainer, model


def params(model):
    return {path: p.data.copy() for path, p in model.namedparams()}


def run_and_crash(comm, out, name='run', **kwargs):
    checkpointer = distributed.create_multi_node_checkpointer(name, comm, **kwargs)
    trainer, _ = make_trainer(comm, out, crash_at=7, checkpointer=checkpointer)
    with pytest.raises(Crash):
        trainer.run(show_loop_exception_msg=False)
    return checkpointer


@pytest.mark.parametrize('mpi', [False, pytest.param(True, marks=pytest.mark.mpi)])
def test_resumed_run_ends_where_the_uninterrupted_run_ends(mpi, tmp_path):
    comm = distributed.create_communicator('mpi' if mpi else 'single')
    # every rank has its own folder: only rank 0's holds files, yet every rank resumes
    out = tmp_path / 'rank{}'.format(comm.rank)
    reference, reference_model = make_trainer(comm, tmp_path / 'reference{}'.format(comm.rank))
    reference.run()
    run_and_crash(comm, out, cp_interval=2, gc_interval=1)
    if comm.rank == 0:
        assert sorted(os.listdir(out)) == ['run.4', 'run.6']
    else:
        assert not out.exists() or not any(name.startswith('run.') for name in os.listdir(out))
    checkpointer = distributed.create_multi_node_checkpointer('run', comm)
    trainer, model = make_trainer(comm, out, checkpointer=checkpointer)
    loaded = checkpointer.maybe_load(trainer)
    assert trainer.updater.iteration == 6
    assert loaded.endswith('run.6')  # rank 0's path, on every rank
    trainer.run()
    for key, value in params(reference_model).items():
        numpy.testing.assert_allclose(params(model)[key], value, rtol=1e-6, atol=1e-7)
    if comm.rank == 0:  # a run that ended without an error removes its checkpoints
        assert not any(name.startswith('run.') for name in os.listdir(out))
        assert 'avg=' in checkpointer.get_stats()


def test_maybe_load_without_checkpoints_changes_nothing(tmp_path):
    comm = distributed.create_communicator('single')
    checkpointer = distributed.create_multi_node_checkpointer('run', comm)
    trainer, _ = make_trainer(comm, tmp_path)
    assert checkpointer.maybe_load(trainer) is None
    assert trainer.updater.iteration == 0
    assert checkpointer.get_stats() == 'No stats available'


def test_a_corrupt_newest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    comm = distributed.create_communicator('single')
    run_and_crash(comm, tmp_path)
    newest = tmp_path / 'run.6'
    data = bytearray(newest.read_bytes())
    data[len(data) // 3] ^= 0xFF
    newest.write_bytes(bytes(data))
    checkpointer = distributed.create_multi_node_checkpointer('run', comm)
    trainer, _ = make_trainer(comm, tmp_path, checkpointer=checkpointer)
    with pytest.warns(UserWarning, match='skipping .*run.6'):
        loaded = checkpointer.maybe_load(trainer)
    assert loaded.endswith('run.4') and trainer.updater.iteration == 4


def test_other_runs_files_are_left_alone(tmp_path):
    comm = distributed.create_communicator('single')
    (tmp_path / 'other.8').write_bytes(b'not ours')
    (tmp_path / 'run.x').write_bytes(b'not ours either')
    checkpointer = run_and_crash(comm, tmp_path, cp_interval=1, gc_interval=2)
    assert checkpointer.files == ['run.4', 'run.6']  # collected after 2 saves, at 4; 6 is new
    assert sorted(os.listdir(tmp_path)) == ['other.8', 'run.4', 'run.6', 'run.x']


def test_checkpointer_refuses_bad_arguments():
    comm = distributed.create_communicator('single')
    with pytest.raises(ValueError, match='cp_interval must be a positive int'):
        distributed.create_multi_node_checkpointer('run', comm, cp_interval=0)
    with pytest.raises(ValueError, match='name must be a non-empty str'):
        distributed.create_multi_node_checkpointer('', comm)


def test_checkpointer_is_a_chainermn_extension_name():
    assert distributed.extensions.create_multi_node_checkpointer is \
        distributed.create_multi_node_checkpointer
