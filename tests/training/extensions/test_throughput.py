"""samples/sec over all ranks in PrintReport and ProgressBar, from the main iterator alone."""
import io
import types

from dchain import distributed
from dchain.iterators import SerialIterator
from dchain.training import Trainer
from dchain.training.extensions import PrintReport, ProgressBar
from dchain.training.extensions._throughput import samples_seen

from .._fakes import FakeUpdater


def _trainer(iterator, ranks=None, log=None, elapsed=0.0):
    optimizer = types.SimpleNamespace(
        communicator=None if ranks is None else types.SimpleNamespace(size=ranks))
    updater = types.SimpleNamespace(get_iterator=lambda name: iterator,
                                    get_optimizer=lambda name: optimizer)
    return types.SimpleNamespace(updater=updater, elapsed_time=elapsed,
                                 get_extension=lambda name: types.SimpleNamespace(log=log))


def test_samples_seen_counts_every_rank():
    sharded = distributed.ShardedIterator(list(range(10)), 4, types.SimpleNamespace(
        rank=0, size=2))
    next(sharded)
    next(sharded)
    assert samples_seen(_trainer(sharded)) == 8  # global batches: all ranks together
    serial = SerialIterator(list(range(10)), 4)
    next(serial)
    assert samples_seen(_trainer(serial)) == 4
    assert samples_seen(_trainer(serial, ranks=3)) == 12  # one rank's share, times 3 ranks
    assert samples_seen(types.SimpleNamespace(updater=object())) is None


def test_print_report_shows_samples_per_second_between_rows():
    iterator = SerialIterator(list(range(100)), 10, shuffle=False)
    log = []
    trainer = _trainer(iterator, ranks=2, log=log)
    out = io.StringIO()
    report = PrintReport(['epoch', 'samples/sec'], out=out)
    report.initialize(trainer)
    for _ in range(5):
        next(iterator)
    log.append({'epoch': 0, 'elapsed_time': 2.0})  # 5 x 10 x 2 ranks in 2 s
    report(trainer)
    for _ in range(10):
        next(iterator)
    log.append({'epoch': 1, 'elapsed_time': 6.0})  # 10 x 10 x 2 in 4 s
    log.append({'epoch': 1, 'elapsed_time': 7.0, 'samples/sec': 5.0})  # the entry's own wins
    report(trainer)
    rows = out.getvalue().splitlines()
    assert rows[0].split() == ['epoch', 'samples/sec']
    assert [row.split() for row in rows[1:]] == [['0', '50'], ['1', '50'], ['1', '5']]


def test_progress_bar_shows_samples_per_second(tmp_path):
    class Updater(FakeUpdater):
        def get_iterator(self, name):
            return types.SimpleNamespace(dataset=[0] * 40, epoch_detail=self.epoch_detail)

        def get_optimizer(self, name):
            return self.optimizer

    out = io.StringIO()
    trainer = Trainer(Updater(4), (2, 'epoch'), out=str(tmp_path))
    trainer.extend(ProgressBar(update_interval=2, out=out))
    trainer.run()
    for line in out.getvalue().splitlines():
        assert 'iters/sec. Estimated time to finish: ' in line
        assert line.endswith('samples/sec (all ranks).')
