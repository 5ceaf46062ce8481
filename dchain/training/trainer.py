"""Trainer: the training loop (updates, then the extensions whose triggers fire)."""
import json
import os
import sys
import time
import traceback

from dchain import random as random_module
from dchain import reporter as reporter_module
from dchain.training import checkpoints
from dchain.training import extension as extension_module
from dchain.training.triggers import get_trigger


_STOP_TRIGGER = object()
_STOP_CHECK = object()
_AUTOLOAD = object()
_RUN_END = object()


class _ExtensionEntry:

    def __init__(self, extension, trigger, priority, call_before_training):
        self.extension = extension
        self.trigger = trigger
        self.priority = priority
        self.call_before_training = call_before_training


class Trainer:
    """The standard training loop.

    Each iteration runs ``updater.update()`` inside a reporter scope that collects the
    observation (the model is registered as 'main', so a Classifier's ``loss`` appears as
    ``main/loss``), then calls every extension whose trigger fires, highest priority first,
    until ``stop_trigger`` fires.

    Args:
        updater: the Updater.
        stop_trigger: when to stop: a trigger or ``(period, unit)``, e.g. ``(20, 'epoch')``;
            None trains until interrupted.
        out (str): folder for logs and snapshots (created by ``run``).
        extensions (list): extensions to register with their default settings.
    """

    def __init__(self, updater, stop_trigger=None, out='result', extensions=None):
        self.updater = updater
        self.stop_trigger = get_trigger(stop_trigger)
        self.observation = {}
        self.out = out
        reporter = reporter_module.Reporter()
        for name, optimizer in updater.get_all_optimizers().items():
            reporter.add_observer(name, optimizer.target)
            reporter.add_observers(name, optimizer.target.namedlinks(skipself=True))
        self.reporter = reporter
        self._done = False
        self._extensions = {}
        self._start_at = None
        self._snapshot_elapsed_time = 0.0
        self._final_elapsed_time = None
        updater.connect_trainer(self)
        for extension in extensions or ():
            self.extend(extension)

    @property
    def is_before_training(self):
        """True until the first update of this run."""
        return self.updater.iteration == 0

    @property
    def elapsed_time(self):
        """Seconds spent in ``run`` so far, including the runs before a resume."""
        if self._done:
            return self._final_elapsed_time
        if self._start_at is None:
            return self._snapshot_elapsed_time
        return time.time() - self._start_at + self._snapshot_elapsed_time

    def extend(self, extension, name=None, trigger=None, priority=None,
               call_before_training=False, **kwargs):
        """Register an extension.

        Args:
            extension: a callable taking the trainer (an Extension or any function).
            name (str): its name; ``extension.name``, ``default_name`` or the function's name
                when None. A taken name gets a suffix ``_1``, ``_2``, ...
            trigger: when to call it; ``extension.trigger`` (default ``(1, 'iteration')``)
                when None.
            priority (int): order among extensions fired at the same iteration (higher
                first); ``extension.priority`` (default ``PRIORITY_READER``) when None.
            call_before_training (bool): also call it once before the first update (not
                on a run resumed after it).
        """
        if kwargs:
            raise TypeError('Trainer.extend: unexpected keyword arguments {}'.format(
                ', '.join(sorted(kwargs))))
        if not callable(extension):
            raise TypeError('Trainer.extend: extension must be callable with the trainer, '
                            'got {}'.format(type(extension).__name__))
        if name is None:
            name = getattr(extension, 'name', None)
        if name is None:
            name = getattr(extension, 'default_name', None)
        if name is None:
            name = getattr(extension, '__name__', None)
        if name is None:
            raise TypeError('Trainer.extend: give a name for {!r}'.format(extension))
        if trigger is None:
            trigger = getattr(extension, 'trigger', extension_module.Extension.trigger)
        if priority is None:
            priority = getattr(extension, 'priority', extension_module.PRIORITY_READER)
        unique = name
        ordinal = 0
        while unique in self._extensions:
            ordinal += 1
            unique = '{}_{}'.format(name, ordinal)
        try:
            extension.name = unique
        except AttributeError:  # e.g. a bound method
            pass
        self._extensions[unique] = _ExtensionEntry(
            extension, get_trigger(trigger), priority, call_before_training)

    def get_extension(self, name):
        """The extension registered as ``name``."""
        entry = self._extensions.get(name)
        if entry is None:
            raise ValueError('Trainer.get_extension: no extension named {!r}; registered: {}'
                             .format(name, sorted(self._extensions)))
        return entry.extension

    def _ordered_extensions(self):
        # sorted is stable, so equal priorities keep the order they were registered in
        return sorted(self._extensions.items(), key=lambda item: -item[1].priority)

    def run(self, show_loop_exception_msg=True):
        """Train until the stop trigger fires.

        An exception raised by the updater or an extension stops the loop; every extension's
        ``on_error`` and ``finalize`` run, and the exception is re-raised with the step that
        raised it named in a note (Python 3.11+) and in the message printed to stderr.

        With a snapshot extension on any rank, SIGTERM, SIGUSR1 or SIGINT during the run
        stops it at the next step boundary: rank 0 writes a snapshot (each snapshot
        extension's ``checkpoint``) and every rank raises ``checkpoints.TrainingStopped``, a
        SystemExit with status 75, after ``finalize``. A second SIGTERM or SIGINT, or no step
        boundary within ``$DCHAIN_STOP_GRACE`` seconds (30), ends the process at once. With
        ``autoload``, every rank resumes from the same snapshot (see ``snapshot``).
        """
        if self._done:
            raise RuntimeError('Trainer.run: this trainer has already run; build a new one')
        if self.out:
            os.makedirs(self.out, exist_ok=True)
        extensions = self._ordered_extensions()
        self._start_at = time.time()
        comm = checkpoints.communicator_of(self)
        stopper = None
        step = _AUTOLOAD
        try:
            # snapshots are autoloaded first (every rank the same one), so the other
            # extensions initialize from the state they resume
            autoloaded, can_checkpoint = checkpoints.prepare(self, extensions)
            loaders = [item for item in extensions if getattr(item[1].extension, 'autoload', 0)]
            others = [item for item in extensions if item not in loaders]
            for name, entry in loaders + others:
                initialize = getattr(entry.extension, 'initialize', None)
                if initialize is not None and name not in autoloaded:
                    step = '{} (initialize)'.format(name)
                    initialize(self)
            # as in Chainer, only before the first update: a run resumed from a snapshot (or
            # autoloaded by an initializer above) does not evaluate again, which LogReport
            # would average into the next entry
            if self.is_before_training:
                self.observation = {}
                with self.reporter.scope(self.observation):
                    for name, entry in extensions:
                        if entry.call_before_training:
                            step = name
                            entry.extension(self)
            if can_checkpoint:
                stopper = checkpoints.StopOnSignal(
                    None if comm is None else comm.rank,
                    flags=None if comm is None else checkpoints.step_flags(self))
                stopper.install()
            update = self.updater.update
            stop_trigger = self.stop_trigger
            reporter = self.reporter
            while True:
                step = _STOP_TRIGGER
                if stop_trigger(self):
                    if comm is not None:
                        # The ranks leave together, the signal handler still installed: one
                        # that left first would die of a SIGTERM (default action) and the
                        # launcher would end the job while rank 0 writes the last snapshot.
                        # (A rank whose stop trigger fired alone meets an update here.)
                        step = _RUN_END
                        comm.barrier()
                    break
                self.observation = {}
                with reporter.scope(self.observation):
                    step = None
                    update()
                    for name, entry in extensions:
                        step = name  # its trigger or itself
                        if entry.trigger(self):
                            entry.extension(self)
                if stopper is not None:
                    # every rank, every step: a signal to any rank stops all at this boundary
                    step = _STOP_CHECK
                    if checkpoints.agree_to_stop(self, comm, stopper.requested):
                        checkpoints.stop(self, extensions, stopper, comm)
        except Exception as error:
            if step is None:
                step = 'updater at iteration {}'.format(self.updater.iteration + 1)
            elif step is _STOP_TRIGGER:
                step = 'stop trigger'
            elif step is _AUTOLOAD:
                step = 'autoload of the snapshots'
            elif step is _RUN_END:
                step = 'wait for every rank at the end of the run'
                if hasattr(error, 'add_note'):
                    error.add_note(
                        'The stop trigger ended the run on this rank at iteration {} while '
                        'another rank went on: a stop trigger must decide from values that '
                        'are the same on every rank (MultiNodeEarlyStoppingTrigger, a '
                        "multi-node evaluator's validation/*), not from this rank's share of "
                        'the batch (main/loss)'.format(self.updater.iteration))
            elif step is _STOP_CHECK:
                step = 'stop on a signal at iteration {}'.format(self.updater.iteration)
            else:
                step = 'extension {!r}'.format(step)
            self._report_error(error, step, show_loop_exception_msg, extensions)
            raise
        finally:
            if stopper is not None:
                stopper.uninstall()
            self._final_elapsed_time = self.elapsed_time
            self._done = True
            self._finalize(extensions)

    def _report_error(self, error, step, show, extensions):
        if hasattr(error, 'add_note'):
            error.add_note('raised in the training loop by the {}'.format(step))
        if show:
            sys.stderr.write('Exception in the training loop, raised by the {}: {}\n'.format(
                step, error))
            sys.stderr.write('Traceback (most recent call last):\n')
            traceback.print_tb(sys.exc_info()[2])
            sys.stderr.write('Will finalize the trainer extensions and the updater before '
                             're-raising the exception.\n')
            sys.stderr.flush()
        for _, entry in extensions:
            on_error = getattr(entry.extension, 'on_error', None)
            if on_error is not None:
                try:
                    on_error(self, error, error.__traceback__)
                except Exception as hook_error:
                    sys.stderr.write('on_error of {} raised {!r}\n'.format(
                        type(entry.extension).__name__, hook_error))

    def _finalize(self, extensions):
        for _, entry in extensions:
            finalize = getattr(entry.extension, 'finalize', None)
            if finalize is not None:
                finalize()
        self.updater.finalize()

    def serialize(self, serializer):
        """Save or load the updater, the stop trigger, every extension (under
        'extensions/<name>') and its trigger (under 'extension_triggers/<name>'), the elapsed
        time and the state of ``dchain.random``'s generator."""
        self.updater.serialize(serializer['updater'])
        if hasattr(self.stop_trigger, 'serialize'):
            self.stop_trigger.serialize(serializer['stop_trigger'])
        extensions = serializer['extensions']
        triggers = serializer['extension_triggers']
        for name, entry in self._extensions.items():
            if hasattr(entry.extension, 'serialize'):
                entry.extension.serialize(extensions[name])
            if hasattr(entry.trigger, 'serialize'):
                entry.trigger.serialize(triggers[name])
        self._snapshot_elapsed_time = float(
            serializer('_snapshot_elapsed_time', self.elapsed_time))
        # dchain's global generator (dropout masks on the host) resumes too, so a resumed run
        # draws what an uninterrupted one would
        try:
            state = serializer('_random_state', json.dumps(random_module.get_state()))
        except KeyError:  # a snapshot written without it (as Chainer's)
            return
        random_module.set_state(json.loads(str(state)))
