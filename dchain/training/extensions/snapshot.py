"""snapshot / snapshot_object: periodic, atomic, resumable checkpoints."""
import contextlib
import numbers
import os
import pickle
import warnings
import zipfile

from dchain.training import checkpoints, extension
from dchain.training.extensions import snapshot_writers
from dchain.training.extensions._files import remove_leftovers
from dchain.training.extensions._snapshot_files import (CorruptSnapshot, check_npz, existing,
                                                        filename_pattern)


def snapshot(savefun=None, filename='snapshot_iter_{.updater.iteration}', *, target=None,
             condition=None, writer=None, snapshot_on_error=False, n_retains=-1,
             autoload=False, loadfun=None):
    """An extension that saves the trainer (or ``target``) into the trainer's ``out`` folder.

    Called once per epoch by default, with priority -100 (after the other extensions). A
    trainer saved this way resumes with ``serializers.load_npz(path, trainer)``.

    Args:
        savefun: ``savefun(path, target)``; ``dchain.serializers.save_npz`` when None.
        filename (str): file name; ``str.format`` gets the trainer, e.g.
            'snapshot_iter_{.updater.iteration}'.
        target: what to save; the trainer when None.
        condition: a callable without arguments; the snapshot is skipped when it returns
            False.
        writer: a snapshot writer ``writer(filename, outdir, target)``; a SimpleWriter with
            ``savefun`` when None (give one or the other, not both).
        snapshot_on_error (bool): also save when the training loop raises.
        n_retains (int): keep only the newest ``n_retains`` snapshots matching ``filename``
            (all when -1).
        autoload (bool): before training, load the newest snapshot in ``out`` matching
            ``filename``. One that is incomplete or corrupt is skipped with a warning naming
            it, in favour of the next older one; one that is whole but does not fit the
            target (a key missing, a shape changed) is a ValueError naming the file and the
            key.
        loadfun: ``loadfun(path, target)`` used by ``autoload``; ``load_npz`` when None.

    A file is a snapshot of this extension only when its whole name matches ``filename``
    with every integer field (such as ``{.updater.iteration}``) replaced by digits, so other
    files in ``out`` (``snapshot_iter_best``, ``snapshot_model_5``) are never loaded or
    removed. "Newest" is the highest value of the fields in the name (iteration 10 after 9),
    then the latest modification time. Temporary files left in ``out`` by a write that was
    killed are removed by the next write or autoload.

    Data-parallel training (a multi-node optimizer over more than one rank): one rank
    writes, rank 0 or else the lowest rank holding the extension; with ``autoload`` the
    lowest rank holding it picks the newest snapshot that loads and every rank loads that same
    file, so all ranks continue from the same iteration (the output folder must be visible to
    every rank).
    While rank 0 writes, the other ranks wait for it beyond the collective timeout.
    """
    if isinstance(savefun, str):
        raise TypeError('snapshot: savefun must be a callable, got the str {!r}; pass the file '
                        'name as filename=...'.format(savefun))
    if writer is not None and savefun is not None:
        raise TypeError('snapshot: give savefun or writer, not both')
    if not isinstance(filename, str):
        raise TypeError('snapshot: filename must be a str (a format string), got {}'.format(
            type(filename).__name__))
    if isinstance(n_retains, bool) or not isinstance(n_retains, numbers.Integral) \
            or n_retains == 0 \
            or n_retains < -1:
        raise ValueError('snapshot: n_retains must be a positive int or -1 (keep all), got '
                         '{!r}'.format(n_retains))
    if writer is None:
        writer = snapshot_writers.SimpleWriter(savefun)
    return _Snapshot(target, condition, writer, filename, snapshot_on_error, n_retains,
                     autoload, loadfun)


def snapshot_object(target, filename, savefun=None, **kwargs):
    """An extension that saves ``target`` (e.g. the model) into the trainer's ``out``.

    Args:
        target: the object to save.
        filename (str): file name, formatted with the trainer, e.g.
            'model_epoch_{.updater.epoch}'.
        savefun: ``savefun(path, target)``; ``save_npz`` when None.
        kwargs: ``condition``, ``writer``, ``snapshot_on_error``, ``n_retains``,
            ``autoload``, ``loadfun`` as for ``snapshot``.
    """
    return snapshot(savefun, filename, target=target, **kwargs)


class _Snapshot(extension.Extension):
    """The extension ``snapshot`` returns."""

    trigger = 1, 'epoch'
    priority = -100

    def __init__(self, target, condition, writer, filename, snapshot_on_error, n_retains,
                 autoload, loadfun):
        self._target = target
        self.condition = condition
        self.writer = writer
        self.filename = filename
        self._snapshot_on_error = snapshot_on_error
        self.n_retains = n_retains
        self.autoload = autoload
        self._loadfun = loadfun
        self._last_written = None

    def initialize(self, trainer):
        """With ``autoload``, load the newest loadable snapshot into the target; returns its
        path, or None when there is none."""
        if not self.autoload:
            return None
        return self.load_newest(trainer)

    def load_newest(self, trainer):
        """Load the newest whole snapshot in ``trainer.out``; returns its path or None.

        Incomplete or corrupt files are skipped with a warning; a whole one that does not fit
        the target raises ValueError naming the file and the key."""
        pattern = self._pattern(trainer)
        remove_leftovers(trainer.out, pattern.fullmatch)
        for name in reversed(existing(trainer.out, pattern)):
            path = os.path.join(trainer.out, name)
            try:
                self.load(trainer, path)
            except CorruptSnapshot as error:
                warnings.warn('snapshot: skipping {} which is incomplete or corrupt ({}); '
                              'trying an older snapshot'.format(path, error))
                continue
            return path
        return None

    def load(self, trainer, path):
        """Load ``path`` into the target: CorruptSnapshot when the file is incomplete or
        damaged, ValueError naming the file and the key when it does not fit."""
        target = trainer if self._target is None else self._target
        load_snapshot(path, target, self._loadfun)

    def autoload_spec(self):
        """What ranks without this extension need to load the snapshot it picks."""
        return {'into_trainer': self._target is None,
                'loadfun': self._loadfun if _picklable(self._loadfun) else _UNPICKLABLE}

    def __call__(self, trainer):
        """Save the target, then drop snapshots beyond ``n_retains``."""
        if self.condition is not None and not self.condition():
            return
        self._make_snapshot(trainer)

    def on_error(self, trainer, exc, tb):
        """Save a last snapshot when ``snapshot_on_error``."""
        if self._snapshot_on_error:
            self._make_snapshot(trainer)

    def checkpoint(self, trainer):
        """Write a snapshot now (the trainer calls this when it stops on a signal), unless one
        of this very state was just written; returns its path on the writing rank, else
        None."""
        if not self._writes(trainer):
            return None
        path = os.path.join(trainer.out, self.filename.format(trainer))
        if self._last_written != (path, trainer.updater.iteration) \
                or not os.path.isfile(path):
            self._make_snapshot(trainer)
        return path

    def _writes(self, trainer):
        """Whether this rank writes: every rank when training is not data-parallel, else
        ``writer_rank`` (set by the trainer: the lowest rank holding the extension; 0)."""
        comm = checkpoints.communicator_of(trainer)
        return comm is None or comm.rank == getattr(self, 'writer_rank', 0)

    def _make_snapshot(self, trainer):
        if not self._writes(trainer):
            return
        target = trainer if self._target is None else self._target
        filename = self.filename.format(trainer)
        with checkpoints.busy(trainer, 'writing the snapshot {}'.format(filename)):
            self.writer(filename, trainer.out, target)
        self._last_written = (os.path.join(trainer.out, filename), trainer.updater.iteration)
        pattern = self._pattern(trainer)
        remove_leftovers(trainer.out, pattern.fullmatch)
        if self.n_retains > 0:
            for name in existing(trainer.out, pattern)[:-self.n_retains]:
                with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                    os.remove(os.path.join(trainer.out, name))

    def _pattern(self, trainer):
        return filename_pattern(self.filename, trainer)

    def finalize(self):
        """Finalize the writer."""
        finalize = getattr(self.writer, 'finalize', None)
        if finalize is not None:
            finalize()


_UNPICKLABLE = 'unpicklable'


def _picklable(loadfun):
    try:
        pickle.dumps(loadfun)
        return True
    except Exception:
        return False


def load_snapshot(path, target, loadfun=None):
    """Load the snapshot ``path`` into ``target`` with ``loadfun`` (``load_npz`` when None).

    Raises CorruptSnapshot when the file is incomplete or damaged (a whole-file check comes
    first for npz files), and ValueError naming the file and the key when it is whole but
    does not fit ``target`` (a key missing, a shape or dtype changed)."""
    if loadfun == _UNPICKLABLE:
        raise ValueError('snapshot: autoload of {} on a rank without the snapshot extension '
                         'needs its loadfun, which cannot be sent between ranks (pickled); '
                         'register the extension on every rank'.format(path))
    if loadfun is None:
        from dchain.serializers import load_npz
        check_npz(path)
        loadfun = load_npz
    try:
        loadfun(path, target)
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise CorruptSnapshot('{}: {}'.format(type(error).__name__, error)) from error
    except (KeyError, ValueError, TypeError) as error:
        detail = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise ValueError('snapshot: {} does not fit what it is loaded into: {}. It was '
                         'written by a different script or model; move it away (or use '
                         'another output folder) to start afresh'.format(path, detail)) \
            from error
