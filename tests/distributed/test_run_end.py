"""The end of a run: no rank leaves Trainer.run (and its SIGTERM handler) before rank 0 has
written the last snapshot; a rank that had left would die of a SIGTERM meanwhile (the
default action) and the launcher would end rank 0 in the middle of that write, losing it.

Run under ``mpirun -n N python -m mpi4py -m pytest --with-mpi`` at any N.
"""
import signal
import time

import pytest

from dchain import distributed, serializers, training
from dchain.training import extensions

from test_training import make_data, make_trainer

pytestmark = pytest.mark.mpi


def test_every_rank_leaves_the_run_after_the_last_snapshot(mpi_tmp_path):
    comm = distributed.create_communicator('mpi')
    out = mpi_tmp_path / 'run'
    trainer, _ = make_trainer(comm, out, make_data(16), stop=4)

    def slow_save(path, target):
        if target.updater.iteration == 4:
            time.sleep(1.0)  # widens the window; the check below does not depend on it
        serializers.save_npz(path, target)

    if comm.rank == 0:
        trainer.extend(extensions.snapshot(savefun=slow_save), trigger=(2, 'iteration'))
    handlers = []
    trainer.extend(lambda t: handlers.append(signal.getsignal(signal.SIGTERM)),
                   trigger=(4, 'iteration'), name='handler at the last step')
    trainer.run()
    assert (out / 'snapshot_iter_4').is_file(), 'a rank left before the last snapshot'
    assert callable(handlers[0])   # the stop-on-signal handler was installed on every rank
    assert signal.getsignal(signal.SIGTERM) is not handlers[0]   # and is removed after


def test_a_stop_trigger_that_fires_on_one_rank_alone_is_explained(mpi_tmp_path):
    from dchain.distributed.agreement import CollectiveMismatchError
    comm = distributed.create_communicator('mpi')
    if comm.size < 2:
        pytest.skip('needs 2 ranks')
    trainer, _ = make_trainer(comm, mpi_tmp_path / 'run', make_data(16), stop=4)
    if comm.rank == 1:   # as a trigger on this rank's own main/loss may
        trainer.stop_trigger = training.triggers.get_trigger((2, 'iteration'))
    with pytest.raises(CollectiveMismatchError) as caught:
        trainer.run(show_loop_exception_msg=False)
    notes = ''.join(getattr(caught.value, '__notes__', []))
    if comm.rank == 1:
        assert 'The stop trigger ended the run on this rank at iteration 2 while another ' \
               'rank went on' in notes
    else:
        assert 'rank 1 calls barrier' in str(caught.value)
