"""Rank-local events (a snapshot or a saved optimizer on rank 0 alone) never change which
collectives the ranks call next: training goes on in step and equals one process.

Run under ``mpirun -n N python -m mpi4py -m pytest --with-mpi`` at any N.
"""
import numpy
import pytest

import dchain
from dchain import distributed, optimizers, serializers, training
from dchain.training import extensions

from test_training import (assert_same_params, make_data, make_model,
                           make_trainer, params)

pytestmark = pytest.mark.mpi

# 16 examples in global batches of 6: an epoch is 2 2/3 iterations, so epoch ends fall both
# on iteration boundaries and inside them.
TRIGGERS = {'every_iteration': (1, 'iteration'), 'every_epoch': (1, 'epoch'),
            'mid_epoch': (2, 'iteration')}


def reference_params(tmp_path, dataset, stop):
    single = distributed.create_communicator('single')
    trainer, model = make_trainer(single, tmp_path, dataset, stop=stop)
    trainer.run()
    return params(model)


@pytest.mark.parametrize('when', sorted(TRIGGERS))
def test_rank_0_snapshots_then_training_goes_on(when, mpi_tmp_path):
    comm = distributed.create_communicator('mpi')
    dataset = make_data(16)
    trainer, model = make_trainer(comm, mpi_tmp_path / 'run', dataset, stop=9)
    if comm.rank == 0:
        trainer.extend(extensions.snapshot(filename='snapshot_{.updater.iteration}'),
                       trigger=TRIGGERS[when])
    trainer.run()
    everyone = comm.allgather_obj(params(model))
    for theirs in everyone:
        assert_same_params(theirs, everyone[0], rtol=0, atol=0)
    expected = reference_params(mpi_tmp_path / 'ref{}'.format(comm.rank), dataset, 9)
    assert_same_params(params(model), expected)
    if comm.rank == 0:
        written = sorted(p.name for p in (mpi_tmp_path / 'run').glob('snapshot_*'))
        assert written, 'the snapshot extension never ran'


def test_saving_the_optimizer_on_rank_0_then_updating(mpi_tmp_path):
    comm = distributed.create_communicator('mpi')
    dataset = make_data(12)
    x, t = dataset._datasets
    path = mpi_tmp_path / 'optimizer.npz'

    def run(communicator, save):
        model = make_model()
        opt = distributed.create_multi_node_optimizer(optimizers.Adam(alpha=0.01),
                                                      communicator).setup(model)
        iterator = distributed.ShardedIterator(dataset, 4, communicator, seed=1)
        for step in range(6):
            if save and communicator.rank == 0 and step in (0, 1, 4):
                serializers.save_npz(str(path), opt)
            x, t = dchain.dataset.concat_examples(next(iterator))
            opt.update(model, x, t)
        return model, opt

    model, opt = run(comm, save=True)
    reference, reference_opt = run(distributed.create_communicator('single'), save=False)
    assert_same_params(params(model), params(reference))
    assert opt.t == reference_opt.t == 6
    comm.barrier()
    loaded = numpy.load(str(path))
    assert int(loaded['t']) == 4


def test_rank_0_saves_the_model_during_training(mpi_tmp_path):
    """Saving the model (as a user's extension on rank 0 may) is rank-local too."""
    comm = distributed.create_communicator('mpi')
    dataset = make_data(16)
    trainer, model = make_trainer(comm, mpi_tmp_path / 'run', dataset, stop=6)
    if comm.rank == 0:
        @training.make_extension(trigger=(1, 'iteration'))
        def save_model(trainer):
            serializers.save_npz(str(mpi_tmp_path / 'model.npz'), model)
        trainer.extend(save_model)
    trainer.run()
    expected = reference_params(mpi_tmp_path / 'ref{}'.format(comm.rank), dataset, 6)
    assert_same_params(params(model), expected)
