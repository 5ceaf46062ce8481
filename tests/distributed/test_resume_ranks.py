"""Snapshots with data-parallel training: autoload resumes every rank from the same snapshot
whichever ranks hold the extension, a misfit is refused on every rank, a signal to one rank
stops all of them at one step boundary, and a slow write does not trip the collective timeout.

Marked ``mpi``: run under ``mpirun -n N python -m pytest --with-mpi`` (any N; 1 works too).
"""
import os
import signal
import time

import numpy
import pytest

from dchain import distributed
from dchain.training import checkpoints, extensions

from test_training import assert_same_params, make_data, make_trainer, params

pytestmark = pytest.mark.mpi


def _holds(holders, comm):
    return {'rank 0': comm.rank == 0, 'every rank': True,
            'the last rank': comm.rank == comm.size - 1}[holders]


class _StartRecorder(extensions.LogReport.__base__):
    """Records the iteration training starts from (after autoload)."""

    def __init__(self):
        self.started = []

    def initialize(self, trainer):
        self.started.append(trainer.updater.iteration)

    def __call__(self, trainer):
        pass


def _reference(comm, tmp, dataset, stop):
    single = distributed.create_communicator('single')
    trainer, model = make_trainer(single, tmp / 'ref{}'.format(comm.rank), dataset, stop=stop)
    trainer.run()
    return params(model)


@pytest.mark.parametrize('holders', ['rank 0', 'every rank', 'the last rank'])
def test_autoload_resumes_every_rank_from_the_same_snapshot(mpi_tmp_path, holders):
    comm = distributed.create_communicator('mpi')
    dataset = make_data(16)
    expected = _reference(comm, mpi_tmp_path, dataset, 8)
    out = mpi_tmp_path / 'run'
    first, _ = make_trainer(comm, out, dataset, stop=5)
    first.extend(_StartRecorder())
    if _holds(holders, comm):
        first.extend(extensions.snapshot(), trigger=(1, 'iteration'))
    first.run()
    comm.barrier()
    assert sorted(os.listdir(out)) == ['snapshot_iter_{}'.format(i) for i in range(1, 6)]
    comm.barrier()
    if comm.rank == 0:   # the newest is cut short, as by a kill mid-copy
        (out / 'snapshot_iter_5').write_bytes((out / 'snapshot_iter_5').read_bytes()[:200])
    comm.barrier()

    resumed, model = make_trainer(comm, out, dataset, stop=8)
    recorder = _StartRecorder()
    resumed.extend(recorder)
    if _holds(holders, comm):
        resumed.extend(extensions.snapshot(autoload=True), trigger=(1, 'iteration'))
    picker = 0 if holders != 'the last rank' else comm.size - 1
    if comm.rank == picker:
        with pytest.warns(UserWarning, match='snapshot: skipping .*snapshot_iter_5 which is '
                                             'incomplete or corrupt'):
            resumed.run()
    else:
        resumed.run()
    assert recorder.started == [4]            # every rank from the same, newest whole snapshot
    assert resumed.updater.iteration == 8
    assert_same_params(params(model), expected)


def test_a_snapshot_of_another_model_is_refused_on_every_rank(mpi_tmp_path):
    comm = distributed.create_communicator('mpi')
    dataset = make_data(16)
    out = mpi_tmp_path / 'run'
    first, _ = make_trainer(comm, out, dataset, stop=2)
    if comm.rank == 0:
        first.extend(extensions.snapshot(), trigger=(1, 'iteration'))
    first.run()
    comm.barrier()
    changed, model = make_trainer(comm, out, dataset, stop=4)
    model.predictor.l1.W.array = numpy.zeros((7, 6))
    if comm.rank == 0:
        changed.extend(extensions.snapshot(autoload=True), trigger=(1, 'iteration'))
    with pytest.raises(ValueError, match=r"snapshot: .*snapshot_iter_2 does not fit what it "
                                         r"is loaded into: .*'updater/model:main/predictor/l1/W'"
                                         r" has shape \(5, 6\)"):
        changed.run(show_loop_exception_msg=False)
    assert changed.updater.iteration == 0


def test_a_signal_to_one_rank_stops_every_rank_at_one_step(mpi_tmp_path):
    comm = distributed.create_communicator('mpi')
    dataset = make_data(16)
    out = mpi_tmp_path / 'run'
    trainer, _ = make_trainer(comm, out, dataset, stop=50)
    if comm.rank == 0:
        trainer.extend(extensions.snapshot(), trigger=(100, 'iteration'))

    def signal_last_rank(trainer):
        if comm.rank == comm.size - 1 and trainer.updater.iteration == 3:
            os.kill(os.getpid(), signal.SIGUSR1)
    trainer.extend(signal_last_rank)
    with pytest.raises(checkpoints.TrainingStopped) as info:
        trainer.run()
    assert info.value.code == 75
    # sent after the 3rd update's exchange of step flags: the 4th update's carries it to
    # every rank (one process needs no exchange and stops at once)
    stopped = 3 if comm.size == 1 else 4
    assert info.value.iteration == trainer.updater.iteration == stopped
    comm.barrier()
    name = 'snapshot_iter_{}'.format(stopped)
    assert os.listdir(out) == [name]
    assert info.value.snapshots == [str(out / name)]


def test_a_write_longer_than_the_collective_timeout_does_not_abort(mpi_tmp_path, capfd):
    world = distributed.create_communicator('mpi')
    world.barrier()   # the short timeout starts once every rank is here
    comm = distributed.create_communicator('mpi', timeout=1)
    dataset = make_data(16)
    trainer, _ = make_trainer(comm, mpi_tmp_path / 'run', dataset, stop=4)
    if comm.rank == 0:
        def slow_save(path, target):
            time.sleep(4)           # a large model on a slow file system
            from dchain import serializers
            serializers.save_npz(path, target)
        trainer.extend(extensions.snapshot(savefun=slow_save), trigger=(2, 'iteration'))
    trainer.run()
    assert trainer.updater.iteration == 4
    if comm.size > 1 and comm.rank > 0:
        assert 'waits for rank 0, which is writing the snapshot snapshot_iter_2; waiting for ' \
            'it beyond the 1 s timeout' in capfd.readouterr().err
