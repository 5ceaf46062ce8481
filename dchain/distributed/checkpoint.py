"""create_multi_node_checkpointer: ChainerMN's generational checkpoints, on dchain's
single-file snapshots.

ChainerMN writes one file per rank (``<name>.<rank>.<iteration>``) and resumes from the newest
iteration every rank has. In dchain every rank holds the same state (parameters, optimizer
state, global iterator position), so rank 0 alone writes ``<name>.<iteration>``, a complete
snapshot that resumes on any number of ranks. ``maybe_load`` reads the newest valid one on
rank 0 and broadcasts its bytes, so the other ranks need not see rank 0's file system.
"""
import io
import os
import time
import warnings
import zipfile

from dchain.training import extension


class _CheckpointStats:
    """How long each save took."""

    def __init__(self):
        self.durations = []

    def report(self):
        if not self.durations:
            return 'No stats available'
        durations = self.durations
        return 'Snapshot duration stats (sec): avg={:f}, min={:f}, max={:f}'.format(
            sum(durations) / len(durations), min(durations), max(durations))


class _MultiNodeCheckpointer(extension.Extension):
    """The extension ``create_multi_node_checkpointer`` returns."""

    def __init__(self, name, comm, cp_interval, gc_interval, path):
        self.name = name            # the extension's name in the trainer
        self.prefix = name          # the files' (kept apart: the trainer may rename the former)
        self.comm = comm
        self.cp_interval = cp_interval
        self.gc_interval = gc_interval
        self.path = path
        self.files = []
        self.stats = _CheckpointStats()
        self._saves = 0
        self._failed = False

    def __call__(self, trainer):
        """Save the trainer at its current iteration (rank 0 writes; no communication)."""
        if self.path is None:
            self.path = trainer.out
        self.save(trainer, trainer.updater.iteration)

    def save(self, target, iteration):
        """Save ``target`` (usually the trainer) as ``<name>.<iteration>`` on rank 0.

        Other ranks do nothing, so calling it on rank 0 alone is fine too. Every
        ``gc_interval`` saves, the checkpoints beyond the newest ``cp_interval`` are removed.
        """
        if self.comm.rank != 0:
            return
        if self.path is None:
            raise ValueError('multi-node checkpointer: no folder to save in; pass path= to '
                             'create_multi_node_checkpointer or use it as a trainer extension')
        from dchain.serializers import save_npz
        os.makedirs(self.path, exist_ok=True)
        filename = self._filename(iteration)
        start = time.perf_counter()
        save_npz(os.path.join(self.path, filename), target)  # atomic: temporary file, rename
        self.stats.durations.append(time.perf_counter() - start)
        if filename in self.files:
            self.files.remove(filename)
        self.files.append(filename)
        self._saves += 1
        if self._saves % self.gc_interval == 0:
            self._collect()

    def _collect(self):
        for filename in self.files[:-self.cp_interval]:
            try:
                os.remove(os.path.join(self.path, filename))
            except FileNotFoundError:
                pass
        self.files = self.files[-self.cp_interval:]

    def maybe_load(self, trainer, optimizer=None, path=None):
        """Load the newest valid checkpoint of this run into ``trainer`` on every rank.

        Collective: every rank calls it, before ``trainer.run()`` and after extending the
        trainer with every extension that has a state. Rank 0 picks the newest file named
        ``<name>.<iteration>`` whose members pass their CRC check (a corrupt or truncated one
        is skipped with a warning), and its contents reach every rank. Without a checkpoint
        nothing changes (``trainer.updater.iteration`` stays 0).

        Args:
            trainer: what was saved (any object with ``serialize``).
            optimizer: accepted for ChainerMN compatibility; the multi-node optimizer checks
                the model and broadcasts rank 0's parameters at its next update anyway.
            path: the folder to look in (the checkpointer's ``path``, else ``trainer.out``).
        Returns:
            The path of the loaded checkpoint (rank 0's, on every rank), or None.
        """
        if self.path is None:
            self.path = path if path is not None else trainer.out
        chosen, payload = None, None
        if self.comm.rank == 0:
            chosen, payload = self._newest_valid()
        chosen, payload = self.comm.bcast_obj((chosen, payload), root=0)
        if payload is None:
            return None
        from dchain.serializers import load_npz
        load_npz(io.BytesIO(payload), trainer)
        if self.comm.rank == 0:
            self.files = [name for _, name in self._existing()]
        return chosen

    def _newest_valid(self):
        for _, name in reversed(self._existing()):
            filename = os.path.join(self.path, name)
            try:
                with open(filename, 'rb') as stream:
                    payload = stream.read()
                with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                    bad = archive.testzip()
                if bad is not None:
                    raise ValueError('member {} is corrupt'.format(bad))
            except (OSError, ValueError, zipfile.BadZipFile) as error:
                warnings.warn('multi-node checkpointer: skipping {} which cannot be read ({}); '
                              'trying an older checkpoint'.format(filename, error))
                continue
            return filename, payload
        return None, None

    def _existing(self):
        """(iteration, file name) of this run's checkpoints in ``path``, oldest first."""
        if not os.path.isdir(self.path):
            return []
        found = []
        for name in os.listdir(self.path):
            iteration = self._parse(name)
            if iteration is not None and os.path.isfile(os.path.join(self.path, name)):
                found.append((iteration, name))
        return sorted(found)

    def _filename(self, iteration):
        return '{}.{}'.format(self.prefix, int(iteration))

    def _parse(self, filename):
        prefix, _, iteration = filename.rpartition('.')
        if prefix != self.prefix or not iteration.isdigit():
            return None
        return int(iteration)

    def get_stats(self):
        """Average, shortest and longest time taken by a save on this rank, as a string."""
        return self.stats.report()

    def on_error(self, trainer, exc, tb):
        """Keep the checkpoints: the run did not finish."""
        self._failed = True

    def finalize(self):
        """After a run that ended without an error, remove this run's checkpoints (rank 0)."""
        if self._failed or self.comm.rank != 0 or self.path is None:
            return
        for filename in self.files:
            try:
                os.remove(os.path.join(self.path, filename))
            except FileNotFoundError:
                pass
        self.files = []


def create_multi_node_checkpointer(name, comm, cp_interval=5, gc_interval=5, path=None):
    """A trainer extension that keeps generations of checkpoints to resume a run from.

    ChainerMN's checkpointer, mapped onto dchain's single-file snapshots: rank 0 writes the
    whole state as ``<path>/<name>.<iteration>`` (atomically); ``maybe_load`` makes every rank
    load the newest valid one. The checkpoints of a run that ends without an error are
    removed at the end::

        checkpointer = distributed.create_multi_node_checkpointer(name='run1', comm=comm)
        trainer.extend(checkpointer, trigger=(1000, 'iteration'))   # on every rank
        checkpointer.maybe_load(trainer, optimizer)                  # on every rank
        trainer.run()

    Args:
        name (str): the run's name, the prefix of the files.
        comm: a dchain.distributed communicator.
        cp_interval (int): how many of the newest checkpoints to keep.
        gc_interval (int): remove older checkpoints after every this many saves.
        path (str): the folder; the trainer's ``out`` when None.
    """
    if not isinstance(name, str) or not name or os.sep in name:
        raise ValueError('create_multi_node_checkpointer: name must be a non-empty str without '
                         '{!r}, got {!r}'.format(os.sep, name))
    for argument, value in (('cp_interval', cp_interval), ('gc_interval', gc_interval)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError('create_multi_node_checkpointer: {} must be a positive int, got '
                             '{!r}'.format(argument, value))
    return _MultiNodeCheckpointer(name, comm, cp_interval, gc_interval, path)
