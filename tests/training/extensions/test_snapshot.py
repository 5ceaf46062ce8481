import os
import zipfile

import numpy
import pytest

from dchain import serializers
from dchain.training import Trainer
from dchain.training.extensions import ExponentialShift, LogReport, snapshot, snapshot_object

from .._fakes import FakeUpdater


def _trainer(out, stop=(8, 'iteration'), iters_per_epoch=4):
    return Trainer(FakeUpdater(iters_per_epoch), stop, out=str(out))


def _files(out):
    return sorted(os.listdir(out))


def test_default_once_per_epoch_and_loadable(tmp_path):
    trainer = _trainer(tmp_path)
    trainer.extend(snapshot())
    trainer.run()
    assert _files(tmp_path) == ['snapshot_iter_4', 'snapshot_iter_8']
    fresh = _trainer(tmp_path)
    fresh.extend(snapshot())
    serializers.load_npz(str(tmp_path / 'snapshot_iter_4'), fresh)
    assert fresh.updater.iteration == 4


@pytest.mark.parametrize('n_retains, expected', [(1, [11]), (3, [9, 10, 11]),
                                                 (-1, list(range(1, 12)))])
def test_n_retains_keeps_the_newest(tmp_path, n_retains, expected):
    trainer = _trainer(tmp_path, stop=(11, 'iteration'))
    trainer.extend(snapshot(n_retains=n_retains), trigger=(1, 'iteration'))
    trainer.run()
    assert _files(tmp_path) == sorted('snapshot_iter_{}'.format(i) for i in expected)


def test_n_retains_leaves_other_files(tmp_path):
    (tmp_path / 'notes.txt').write_text('keep me')
    trainer = _trainer(tmp_path, stop=(3, 'iteration'))
    trainer.extend(snapshot(filename='snap_{.updater.iteration}.npz', n_retains=1),
                   trigger=(1, 'iteration'))
    trainer.run()
    assert _files(tmp_path) == ['notes.txt', 'snap_3.npz']


def test_snapshot_object_and_condition(tmp_path):
    trainer = _trainer(tmp_path)
    model = trainer.updater.model
    model.W.array[:] = [1, 2, 3]
    trainer.extend(snapshot_object(model, 'model_epoch_{.updater.epoch}',
                                   condition=lambda: trainer.updater.epoch == 2))
    trainer.run()
    assert _files(tmp_path) == ['model_epoch_2']
    copy = FakeUpdater().model
    serializers.load_npz(str(tmp_path / 'model_epoch_2'), copy)
    numpy.testing.assert_array_equal(copy.W.array, [1, 2, 3])


def test_failed_save_leaves_no_partial_file(tmp_path):
    def savefun(path, target):
        serializers.save_npz(path, target)
        if target.updater.iteration == 8:
            with open(path, 'ab') as stream:  # half-written, then the disk fills up
                stream.write(b'garbage')
            raise OSError('No space left on device')
    trainer = _trainer(tmp_path)
    trainer.extend(snapshot(savefun=savefun, filename='snapshot'))
    with pytest.raises(OSError, match='No space left') as info:
        trainer.run(show_loop_exception_msg=False)
    assert "extension '_Snapshot'" in ''.join(info.value.__notes__)
    assert _files(tmp_path) == ['snapshot']
    fresh = _trainer(tmp_path)
    serializers.load_npz(str(tmp_path / 'snapshot'), fresh)
    assert fresh.updater.iteration == 4  # the previous, complete snapshot


def test_snapshot_on_error(tmp_path):
    trainer = _trainer(tmp_path)
    trainer.extend(snapshot(snapshot_on_error=True, filename='crash_{.updater.iteration}'))

    def broken(trainer):
        if trainer.updater.iteration == 6:
            raise RuntimeError('boom')
    trainer.extend(broken)
    with pytest.raises(RuntimeError, match='boom'):
        trainer.run(show_loop_exception_msg=False)
    assert _files(tmp_path) == ['crash_4', 'crash_6']


def _resumable(out, stop, autoload=True):
    trainer = _trainer(out, stop=stop, iters_per_epoch=2)
    trainer.extend(snapshot(autoload=autoload), trigger=(1, 'iteration'))
    trainer.extend(LogReport(trigger=(1, 'epoch')))
    trainer.extend(ExponentialShift('lr', 0.5))
    return trainer


def test_autoload_resumes_from_the_newest(tmp_path):
    first = _resumable(tmp_path, (5, 'iteration'))
    first.run()
    second = _resumable(tmp_path, (8, 'iteration'))
    second.run()
    reference = _resumable(tmp_path / 'reference', (8, 'iteration'))
    reference.run()
    assert second.updater.optimizer.lr == reference.updater.optimizer.lr == 0.1 * 0.5 ** 8
    strip = [{k: v for k, v in entry.items() if k != 'elapsed_time'}
             for entry in second.get_extension('LogReport').log]
    assert strip == [{k: v for k, v in entry.items() if k != 'elapsed_time'}
                     for entry in reference.get_extension('LogReport').log]
    assert [e['iteration'] for e in strip] == [2, 4, 6, 8]


def test_autoload_skips_a_corrupt_snapshot(tmp_path):
    _resumable(tmp_path, (5, 'iteration')).run()
    newest = tmp_path / 'snapshot_iter_5'
    newest.write_bytes(newest.read_bytes()[:100])  # truncated
    second = _resumable(tmp_path, (6, 'iteration'))
    with pytest.warns(UserWarning, match='snapshot: skipping .*snapshot_iter_5 which is '
                                         'incomplete or corrupt'):
        second.run()
    assert second.updater.optimizer.lr == pytest.approx(0.1 * 0.5 ** 6)
    assert second.get_extension('LogReport').log[-1]['iteration'] == 6


def test_autoload_skips_a_snapshot_with_a_flipped_byte(tmp_path):
    _resumable(tmp_path, (5, 'iteration')).run()
    newest = tmp_path / 'snapshot_iter_5'
    with zipfile.ZipFile(newest) as archive:
        info = archive.getinfo('updater/iteration.npy')
    data = bytearray(newest.read_bytes())
    # the local header is 30 bytes, then the name and the extra field, then the data
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size - 1] ^= 0xFF
    newest.write_bytes(bytes(data))
    second = _resumable(tmp_path, (5, 'iteration'))
    with pytest.warns(UserWarning, match='snapshot_iter_5 which is incomplete or corrupt'):
        second.run()
    assert second.updater.iteration == 5  # resumed from 4, ran one more


def test_autoload_without_snapshots_starts_fresh(tmp_path):
    trainer = _resumable(tmp_path / 'empty', (2, 'iteration'))
    trainer.run()
    assert trainer.updater.iteration == 2


def test_bad_arguments():
    with pytest.raises(TypeError, match="snapshot: savefun must be a callable, got the str "
                                        "'snap'; pass the file name as filename="):
        snapshot('snap')
    with pytest.raises(ValueError, match='snapshot: n_retains must be a positive int or -1'):
        snapshot(n_retains=0)
    with pytest.raises(TypeError, match='snapshot: give savefun or writer, not both'):
        snapshot(savefun=serializers.save_npz, writer=object())
    with pytest.raises(TypeError, match='snapshot: filename must be a str'):
        snapshot(filename=lambda trainer: 'x')


def test_retention_and_autoload_ignore_look_alike_names(tmp_path):
    # files a user keeps next to the snapshots, named like them but not made by this pattern
    for name in ('snapshot_iter_best', 'snapshot_iter_99.bak', 'snapshot_iter_',
                 'snapshot_iter_7_old'):
        (tmp_path / name).write_text('not a snapshot')
    trainer = _trainer(tmp_path, stop=(5, 'iteration'))
    trainer.extend(snapshot(n_retains=2, autoload=True), trigger=(1, 'iteration'))
    trainer.extend(snapshot(filename='snapshot_model_{.updater.iteration}', n_retains=1,
                            target=trainer.updater.model), trigger=(2, 'iteration'),
                   name='model_snapshot')
    trainer.run()
    assert _files(tmp_path) == ['snapshot_iter_', 'snapshot_iter_4', 'snapshot_iter_5',
                                'snapshot_iter_7_old', 'snapshot_iter_99.bak',
                                'snapshot_iter_best', 'snapshot_model_4']
    resumed = _trainer(tmp_path, stop=(6, 'iteration'))
    resumed.extend(snapshot(n_retains=2, autoload=True), trigger=(1, 'iteration'))
    resumed.run()  # snapshot_iter_best and the others are never tried
    assert resumed.updater.iteration == 6


def test_retention_orders_by_the_iteration_in_the_name(tmp_path):
    trainer = _trainer(tmp_path, stop=(12, 'iteration'))
    trainer.extend(snapshot(n_retains=2), trigger=(1, 'iteration'))
    trainer.run()
    # iteration 9 written last would be kept by modification time; by number 11 and 12 stay
    os.utime(tmp_path / 'snapshot_iter_11', (1, 1))
    assert _files(tmp_path) == ['snapshot_iter_11', 'snapshot_iter_12']


def _leftovers(out):
    return [name for name in os.listdir(out) if name.startswith('.')]


def test_a_killed_write_leaves_temporaries_that_the_next_write_removes(tmp_path):
    # what a write killed mid-way leaves: the writer's folder and the serializer's file
    (tmp_path / '.tmp_snapshot_iter_3_k2j4a_9x').mkdir()
    (tmp_path / '.tmp_snapshot_iter_3_k2j4a_9x' / 'snapshot_iter_3').write_bytes(b'PK\x03')
    (tmp_path / '.snapshot_iter_2.0123abcd.tmp').write_bytes(b'PK')
    (tmp_path / '.tmp_log_abcdefgh').mkdir()       # LogReport's own, for the name 'log'
    (tmp_path / '.tmp_notes_abcdefgh').mkdir()     # not of any writer here: kept
    trainer = _trainer(tmp_path, stop=(4, 'iteration'))
    trainer.extend(snapshot(), trigger=(4, 'iteration'))
    trainer.extend(LogReport(trigger=(4, 'iteration')))
    trainer.run()
    assert _leftovers(tmp_path) == ['.tmp_notes_abcdefgh']
    assert 'snapshot_iter_4' in _files(tmp_path)


def test_autoload_removes_temporaries_of_a_killed_write(tmp_path):
    _resumable(tmp_path, (2, 'iteration')).run()
    (tmp_path / '.tmp_snapshot_iter_3_k2j4a_9x').mkdir()
    (tmp_path / '.tmp_snapshot_iter_3_k2j4a_9x' / 'snapshot_iter_3').write_bytes(b'PK\x03')
    resumed = _trainer(tmp_path, stop=(2, 'iteration'), iters_per_epoch=2)
    resumed.extend(snapshot(autoload=True), trigger=(5, 'iteration'))
    resumed.run()
    assert resumed.updater.iteration == 2
    assert _leftovers(tmp_path) == []


def test_autoload_refuses_a_snapshot_with_a_missing_key(tmp_path):
    _resumable(tmp_path, (3, 'iteration')).run()
    changed = _resumable(tmp_path, (5, 'iteration'))
    changed.extend(ExponentialShift('alpha', 0.5), name='added')   # a new extension
    with pytest.raises(ValueError, match=r"snapshot_iter_3 does not fit .* has no key "
                                         r"'extensions/added/_t'"):
        changed.run(show_loop_exception_msg=False)
    assert _files(tmp_path) == ['log', 'snapshot_iter_1', 'snapshot_iter_2', 'snapshot_iter_3']


def test_a_full_disk_names_the_file(tmp_path):
    import errno

    def savefun(path, target):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    trainer = _trainer(tmp_path)
    trainer.extend(snapshot(savefun=savefun, filename='snapshot'))
    with pytest.raises(OSError) as info:
        trainer.run(show_loop_exception_msg=False)
    assert info.value.errno == errno.ENOSPC
    assert 'could not write {} (No space left on device)'.format(
        os.path.join(str(tmp_path), 'snapshot')) in str(info.value)
    assert _files(tmp_path) == []
