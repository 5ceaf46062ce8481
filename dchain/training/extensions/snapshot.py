"""snapshot / snapshot_object: periodic, atomic, resumable checkpoints."""
import numbers
import os
import re
import string
import warnings
import zipfile

from dchain.training import extension
from dchain.training.extensions import snapshot_writers


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
            ``filename``; one that fails to load (corrupt, truncated) is skipped with a
            warning in favour of the next older one.
        loadfun: ``loadfun(path, target)`` used by ``autoload``; ``load_npz`` when None.

    "Newest" is the highest value of the fields in ``filename`` (iteration 10 after 9),
    then the latest modification time.
    """
    if isinstance(savefun, str):
        raise TypeError('snapshot: savefun must be a callable, got the str {!r}; pass the file '
                        'name as filename=...'.format(savefun))
    if writer is not None and savefun is not None:
        raise TypeError('snapshot: give savefun or writer, not both')
    if not isinstance(filename, str):
        raise TypeError('snapshot: filename must be a str (a format string), got {}'.format(
            type(filename).__name__))
    if isinstance(n_retains, bool) or not isinstance(n_retains, numbers.Integral) or n_retains == 0 \
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
        self._pattern = _filename_pattern(filename)

    def initialize(self, trainer):
        """With ``autoload``, load the newest loadable snapshot into the target."""
        if not self.autoload:
            return
        target = trainer if self._target is None else self._target
        loadfun = self._loadfun
        if loadfun is None:
            from dchain.serializers import load_npz
            loadfun = _checked_npz_loader(load_npz)
        for name in reversed(self._existing(trainer.out)):
            path = os.path.join(trainer.out, name)
            try:
                loadfun(path, target)
                return path
            except Exception as error:
                warnings.warn('snapshot: skipping {} which failed to load ({}: {}); trying an '
                              'older snapshot'.format(path, type(error).__name__, error))
        return None

    def __call__(self, trainer):
        """Save the target, then drop snapshots beyond ``n_retains``."""
        if self.condition is not None and not self.condition():
            return
        self._make_snapshot(trainer)

    def on_error(self, trainer, exc, tb):
        """Save a last snapshot when ``snapshot_on_error``."""
        if self._snapshot_on_error:
            self._make_snapshot(trainer)

    def _make_snapshot(self, trainer):
        target = trainer if self._target is None else self._target
        self.writer(self.filename.format(trainer), trainer.out, target)
        if self.n_retains > 0:
            for name in self._existing(trainer.out)[:-self.n_retains]:
                try:
                    os.remove(os.path.join(trainer.out, name))
                except FileNotFoundError:  # removed by someone else meanwhile
                    pass

    def _existing(self, folder):
        """Names of the snapshots in ``folder`` matching the filename, oldest first."""
        if not os.path.isdir(folder):
            return []
        found = []
        for name in os.listdir(folder):
            match = self._pattern.fullmatch(name)
            path = os.path.join(folder, name)
            if match is not None and os.path.isfile(path):
                found.append((_natural_key(match.groups()), os.stat(path).st_mtime_ns, name))
        found.sort()
        return [name for _, _, name in found]

    def finalize(self):
        """Finalize the writer."""
        finalize = getattr(self.writer, 'finalize', None)
        if finalize is not None:
            finalize()


def _filename_pattern(filename):
    """A regex matching what ``filename.format(...)`` can produce, one group per field."""
    parts = []
    for literal, field, _, _ in string.Formatter().parse(filename):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append('(.+?)')
    return re.compile(''.join(parts))


def _natural_key(fields):
    # numbers compare as numbers, so iteration 10 sorts after iteration 9
    key = []
    for field in fields:
        for piece in re.split(r'(\d+)', field):
            key.append((0, int(piece), '') if piece.isdigit() else (1, 0, piece))
    return key


def _checked_npz_loader(load_npz):
    """``load_npz`` after a CRC check of every member, so a corrupt file is refused before
    anything is copied into the target."""
    def load(path, target):
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        if bad is not None:
            raise ValueError('{}: member {} is corrupt'.format(path, bad))
        load_npz(path, target)
    return load
