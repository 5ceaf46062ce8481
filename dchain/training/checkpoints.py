"""A training run through a cluster job's life: resuming on every rank, and stopping with a
snapshot when the job is asked to end.

The trainer uses this module; it finds the ranks through the communicator of a multi-node
optimizer (``optimizer.communicator``), so it needs no MPI itself.

- ``autoload``: every snapshot extension with ``autoload`` is resolved collectively: the
  lowest rank holding it picks the newest snapshot that loads, every rank loads that file.
- ``StopOnSignal``: SIGTERM, SIGUSR1 (Slurm's ``--signal=USR1@60``) and SIGINT set a flag; at
  the next step boundary every rank learns whether any rank got one (``agree_to_stop``: the
  'stop' flag of the multi-node optimizer's per-update StepFlags exchange), the rank that
  writes snapshots (rank 0, or the lowest rank holding the extension) writes one, and every
  rank leaves ``Trainer.run`` with ``TrainingStopped``, whose exit status is
  ``STOPPED_STATUS`` (75). A second SIGTERM (more than a second after the first: a batch
  system may deliver one along several paths) or SIGINT, or no step boundary within
  ``$DCHAIN_STOP_GRACE`` seconds (default 30), ends the process at once.
"""
import contextlib
import os
import signal
import sys
import threading
import time

import numpy

STOPPED_STATUS = 75   # EX_TEMPFAIL: stopped on request with a snapshot; run again to go on
DEFAULT_GRACE = 30.0  # seconds from the signal to the next step boundary
SIGNALS = ('SIGTERM', 'SIGUSR1', 'SIGINT')
# A batch system may deliver one SIGTERM along several paths (Slurm: to the tasks and to the
# srun that forwards it); a second one this soon after the first is the same request.
SAME_REQUEST_SECONDS = 1.0


class TrainingStopped(SystemExit):
    """Raised by ``Trainer.run`` on every rank after a stop on a signal was agreed and the
    snapshot written. Uncaught, it ends the process with ``STOPPED_STATUS``.

    Attributes: ``signal_name`` (e.g. 'SIGTERM', the first one this rank got; None when
    another rank got it), ``iteration``, ``snapshots`` (the paths written, by any rank).
    """

    def __init__(self, signal_name, iteration, snapshots):
        super().__init__(STOPPED_STATUS)
        self.signal_name = signal_name
        self.iteration = iteration
        self.snapshots = snapshots


def communicator_of(trainer):
    """The communicator of the trainer's multi-node optimizer when it has more than one rank,
    else None (training on one process)."""
    for optimizer in trainer.updater.get_all_optimizers().values():
        comm = getattr(optimizer, 'communicator', None)
        if comm is not None and getattr(comm, 'size', 1) > 1:
            return comm
    return None


def busy(trainer, what):
    """A context in which this rank tells ranks waiting for it in a collective that it is
    busy with ``what``, so they wait beyond the collective timeout instead of aborting."""
    comm = communicator_of(trainer)
    busy_context = getattr(comm, 'busy', None)
    return contextlib.nullcontext() if busy_context is None else busy_context(what)


def step_flags(trainer):
    """The ``StepFlags`` of the trainer's 'main' multi-node optimizer (exchanged by every rank
    in every update), or None."""
    try:
        optimizer = trainer.updater.get_optimizer('main')
    except Exception:
        return None
    return getattr(optimizer, 'step_flags', None)


def agree_to_stop(trainer, comm, requested):
    """True on every rank when any rank asked to stop; called by every rank at every step
    boundary. With more than one rank the answer is the 'stop' flag of the update's own
    StepFlags exchange (``StopOnSignal`` sets it), so it costs no collective; without
    StepFlags, one tiny allreduce."""
    if comm is None:
        return bool(requested)
    flags = step_flags(trainer)
    if flags is not None:
        return flags.any('stop')
    flag = numpy.array([1 if requested else 0], numpy.int32)
    return bool(comm.allreduce(flag, 'max')[0])


def _loaders(extensions):
    return [(name, entry.extension) for name, entry in extensions
            if getattr(entry.extension, 'autoload', False)
            and hasattr(entry.extension, 'load_newest')]


def prepare(trainer, extensions):
    """Before the first update: choose which rank writes each snapshot extension (the lowest
    rank holding it), autoload the snapshot extensions, every rank the same file, and tell
    whether any rank can write a checkpoint. Collective when there is more than one rank
    (every rank calls it, with or without extensions). Returns (names of the extensions it
    autoloaded, whether any rank can checkpoint)."""
    comm = communicator_of(trainer)
    loaders = _loaders(extensions)
    writers = {name: entry.extension for name, entry in extensions
               if hasattr(entry.extension, 'checkpoint')}
    if comm is None:
        for _, extension in loaders:
            extension.load_newest(trainer)
        return {name for name, _ in loaders}, bool(writers)
    mine = {name: extension.autoload_spec() for name, extension in loaders}
    # tagged (agreement.AUTOLOAD): a rank meeting another object collective here is an error
    everyone = comm.allgather_obj((mine, sorted(writers)), tag=2)
    for name, extension in writers.items():
        extension.writer_rank = min(rank for rank, (_, names) in enumerate(everyone)
                                    if name in names)
    ours = dict(loaders)
    for name in sorted(set().union(*(specs for specs, _ in everyone))):
        picker = min(rank for rank, (specs, _) in enumerate(everyone) if name in specs)
        _autoload_one(trainer, comm, name, ours.get(name), everyone[picker][0][name], picker)
    return set(ours), any(names for _, names in everyone)


def _autoload_one(trainer, comm, name, extension, spec, picker):
    from dchain.training.extensions.snapshot import load_snapshot
    outcome = None
    if comm.rank == picker:
        try:
            outcome = ('loaded', extension.load_newest(trainer))
        except Exception as error:
            outcome = ('error', str(error))
    outcome = comm.bcast_obj(outcome, root=picker)
    if outcome[0] == 'error':
        raise ValueError(outcome[1])
    path = outcome[1]
    problem = None
    if path is not None and comm.rank != picker:
        try:
            if extension is not None:
                extension.load(trainer, path)
            elif spec['into_trainer']:
                load_snapshot(path, trainer, spec['loadfun'])
        except Exception as error:
            problem = 'rank {} cannot load {}, which rank {} loaded ({}: {}); every rank ' \
                'must see the same output folder'.format(comm.rank, path, picker,
                                                         type(error).__name__, error)
    problems = [p for p in comm.allgather_obj(problem) if p is not None]
    if problems:
        raise ValueError('snapshot {!r} (autoload): {}'.format(name, '; '.join(problems)))


class StopOnSignal:
    """Turns SIGTERM, SIGUSR1 and SIGINT into a stop at the next step boundary.

    ``install()`` in the main thread (elsewhere it does nothing), ``uninstall()`` when the
    loop ends. ``requested`` is the name of the first signal received, else None.
    """

    def __init__(self, rank=None, grace=None, flags=None):
        self.rank = rank
        self.flags = flags
        self.grace = _grace_from_env() if grace is None else float(grace)
        self.requested = None
        self._requested_at = None
        self._previous = {}
        self._timer = None

    def install(self):
        if threading.current_thread() is not threading.main_thread():
            return
        for name in SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                self._previous[number] = signal.signal(number, self._handle)

    def uninstall(self):
        self.cancel_grace()
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def cancel_grace(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _say(self, text):
        prefix = '' if self.rank is None else '[rank {}] '.format(self.rank)
        sys.stderr.write('{}dchain: {}\n'.format(prefix, text))
        sys.stderr.flush()

    def _handle(self, number, frame):
        name = signal.Signals(number).name
        if self.requested is None:
            self.requested = name
            self._requested_at = time.monotonic()
            if self.flags is not None:
                self.flags.set('stop')  # goes to every rank with the next update's exchange
            self._say('{} received: stopping with a snapshot at the next step boundary (a '
                      'second SIGTERM or Ctrl-C, or none within {:g} s, ends at once)'.format(
                          name, self.grace))
            self._timer = threading.Timer(self.grace, self._too_late, (name,))
            self._timer.daemon = True
            self._timer.start()
            return
        if number == signal.SIGUSR1 or (
                number == signal.SIGTERM
                and time.monotonic() - self._requested_at < SAME_REQUEST_SECONDS):
            return  # asked again for what is already under way
        previous = self._previous.get(number, signal.SIG_DFL)
        self.uninstall()
        self._say('second {}: ending now, without a snapshot'.format(name))
        if callable(previous):
            previous(number, frame)
        elif previous == signal.SIG_DFL:
            os.kill(os.getpid(), number)

    def _too_late(self, name):
        self._say('no step boundary within {:g} s of {} ($DCHAIN_STOP_GRACE): ending now, '
                  'without a snapshot'.format(self.grace, name))
        os.kill(os.getpid(), signal.SIGKILL)


def _grace_from_env():
    value = os.environ.get('DCHAIN_STOP_GRACE')
    if value is None:
        return DEFAULT_GRACE
    try:
        grace = float(value)
    except ValueError:
        raise ValueError('DCHAIN_STOP_GRACE must be a number of seconds, got {!r}'.format(
            value)) from None
    if grace <= 0:
        raise ValueError('DCHAIN_STOP_GRACE must be positive seconds, got {!r}'.format(value))
    return grace


def stop(trainer, extensions, stopper, comm):
    """The agreed stop: the writing rank writes its checkpoints, every rank waits for it, then
    raises TrainingStopped."""
    stopper.cancel_grace()
    written = []
    for _, entry in extensions:
        checkpoint = getattr(entry.extension, 'checkpoint', None)
        if checkpoint is not None:
            path = checkpoint(trainer)
            if path is not None:
                written.append(path)
    iteration = trainer.updater.iteration
    if comm is not None:
        # everyone waits for the writers (who answer the timeout's queries meanwhile), and
        # nobody leaves, letting a launcher end the job, before the files are whole
        written = [path for paths in comm.allgather_obj(written) for path in paths]
    if comm is None or comm.rank == 0:
        cause = stopper.requested or 'a signal to another rank'
        where = ', '.join(written) if written else 'no snapshot (no snapshot extension)'
        stopper._say('stopped at iteration {} on {}; wrote {}; exiting with status {} (run '
                     'again with autoload / --resume auto to go on)'.format(
                         iteration, cause, where, STOPPED_STATUS))
    sys.stdout.flush()
    raise TrainingStopped(stopper.requested, iteration, written)
