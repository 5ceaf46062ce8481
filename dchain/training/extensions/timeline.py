"""Timeline: where each rank's training step spends its time, as a Chrome trace (Horovod's
Timeline)."""
import json
import time

from dchain import _timeline
from dchain.training import extension
from dchain.training.extensions._files import write_atomically
from dchain.training.triggers import get_trigger

PHASES = ('forward', 'backward', 'exchange', 'update')


class Timeline(extension.Extension):
    """Record the forward, backward, gradient exchange and update of every step on every rank,
    and write them as one Chrome trace JSON file (open it in ``chrome://tracing`` or
    https://ui.perfetto.dev): one row per rank, one box per phase per step.

    Give it to the trainer on every rank (with the run's communicator): the ranks' events
    are gathered to rank 0, which writes ``out/filename`` at each ``write_trigger`` and at the
    end, rewriting the whole file atomically. Times count from a barrier at the start of
    training, so the ranks' rows line up. A rank with no sample in a step has no forward or
    backward box in it; a run on one process has no exchange; with micro-batches each has its
    forward and backward box; with sharded optimizer state the exchange has two boxes (the
    reduce-scatter before the update, the all-gather after it).

    Args:
        filename (str): the file in the trainer's ``out`` folder.
        comm: the dchain.distributed communicator (None: one process).
        write_trigger: when to gather and write, ``(1, 'epoch')`` by default.
        synchronize (bool): on a GPU, wait for the device at the end of each phase so that a
            box covers the work it launched (slower steps while recording).
    """

    trigger = 1, 'iteration'
    priority = extension.PRIORITY_READER

    def __init__(self, filename='timeline.json', comm=None, write_trigger=(1, 'epoch'),
                 synchronize=True):
        if not isinstance(filename, str) or not filename:
            raise TypeError('Timeline: filename must be a non-empty str, got {!r}'.format(
                filename))
        self.filename = filename
        self.comm = comm
        self._write_trigger = get_trigger(write_trigger)
        self._recorder = _timeline.Recorder(synchronize)
        self._origin = None
        self._events = []         # rank 0: everything written so far and the new ones
        self._pending = []        # this rank's events since the last write
        self._written_at = None
        self._failed = False
        self._trainer = None

    @property
    def rank(self):
        """This process's rank (0 without a communicator)."""
        return 0 if self.comm is None else self.comm.rank

    def initialize(self, trainer):
        """Line the ranks' clocks up at a barrier and start recording."""
        if self.comm is not None:
            self.comm.barrier()
        self._origin = time.perf_counter()
        self._trainer = trainer
        self._recorder.take()
        _timeline.start(self._recorder)

    def __call__(self, trainer):
        """Label the spans of the step just done; write when ``write_trigger`` fires."""
        iteration = trainer.updater.iteration
        rank = self.rank
        for phase, start, end in self._recorder.take():
            self._pending.append({
                'name': phase, 'cat': 'step', 'ph': 'X', 'pid': rank, 'tid': 0,
                'ts': round((start - self._origin) * 1e6, 3),
                'dur': round((end - start) * 1e6, 3), 'args': {'step': iteration}})
        if self._write_trigger(trainer):
            self._write(trainer)

    def _write(self, trainer):
        # every rank comes here at the same iterations: a collective is safe
        pending, self._pending = self._pending, []
        if self.comm is None:
            gathered = [pending]
        else:
            gathered = self.comm.gather_obj(pending, root=0)
        self._written_at = trainer.updater.iteration
        if self.rank != 0:
            return
        for events in gathered:
            self._events.extend(events)
        size = len(gathered)
        names = [{'name': 'process_name', 'ph': 'M', 'pid': r,
                  'args': {'name': 'rank {}'.format(r)}} for r in range(size)]
        names += [{'name': 'process_sort_index', 'ph': 'M', 'pid': r,
                   'args': {'sort_index': r}} for r in range(size)]
        document = {'traceEvents': names + self._events, 'displayTimeUnit': 'ms'}

        def write(path):
            with open(path, 'w') as stream:
                json.dump(document, stream)
        write_atomically(trainer.out, self.filename, write)

    def on_error(self, trainer, exc, tb):
        """Stop without the final exchange: the other ranks may be elsewhere."""
        self._failed = True

    def finalize(self):
        """Stop recording and write what the last trigger did not (unless the run failed)."""
        _timeline.stop(self._recorder)
        trainer = self._trainer
        if trainer is not None and not self._failed and \
                self._written_at != trainer.updater.iteration:
            self._write(trainer)  # every rank ends at the same iteration

    def serialize(self, serializer):
        """Nothing is saved: a resumed run writes a new timeline."""
