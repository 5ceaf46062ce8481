"""LogReport: average the observations over an interval and append them to a JSON log."""
import json
import os

from dchain import reporter
from dchain.training import extension
from dchain.training.extensions._files import write_atomically
from dchain.training.triggers import get_trigger

_FORMATS = ('json', 'json-lines')


class LogReport(extension.Extension):
    """Collect the observation every iteration; each time ``trigger`` fires, append the
    means (plus ``epoch``, ``iteration`` and ``elapsed_time``) to ``log`` and rewrite the
    file ``out/<filename>`` atomically.

    Registered with ``trainer.extend(LogReport(), call_before_training=True)``, it also
    writes an entry before the first update (epoch 0, iteration 0) holding what the
    extensions called then observed, e.g. the Evaluator's score of the untrained model.

    The file is Chainer's: a JSON list of dicts (indent 4), e.g.
    ``[{"main/loss": 0.3, "epoch": 1, "iteration": 600, "elapsed_time": 4.2}]``.

    Args:
        keys (list of str): keys to log; every scalar observed when None.
        trigger: when to write an entry, ``(1, 'epoch')`` by default.
        postprocess: called with each entry (a dict) before it is logged; may edit it.
        filename (str): file name in the trainer's ``out``, 'log' by default (None also
            means 'log'); ``str.format`` fields take entry values, e.g. 'log_{epoch}'.
        append (bool): with 'json-lines', append entries to the file instead of rewriting it.
        format (str): 'json' (default) or 'json-lines' (one dict a line; the default for a
            filename ending in '.jsonl').
        log_name: Chainer's older name of ``filename``.
    """

    def __init__(self, keys=None, trigger=(1, 'epoch'), postprocess=None, filename=None,
                 append=False, format=None, log_name='log'):
        if filename is None:
            filename = log_name
        if format is None:
            format = 'json-lines' if filename and filename.endswith('.jsonl') else 'json'
        if format not in _FORMATS:
            raise ValueError('LogReport: format must be one of {}, got {!r}'.format(
                _FORMATS, format))
        self._keys = keys
        self._trigger = get_trigger(trigger)
        self._postprocess = postprocess
        self._log_name = filename
        self._append = append
        self._format = format
        self._log = []
        self._encoded = []  # (entry, its text in the file) for the entries written so far
        self._summary = reporter.DictSummary()

    def __call__(self, trainer):
        """Add this iteration's observation; write an entry when the trigger fires."""
        observation = trainer.observation
        if self._keys is None:
            self._summary.add(observation)
        else:
            self._summary.add({key: observation[key] for key in self._keys
                               if key in observation})
        # Called before the first update (``call_before_training=True``), it writes Chainer's
        # epoch-0 entry, so that what was observed then (an evaluation of the untrained
        # model) is not averaged into the first epoch.
        if not (trainer.is_before_training or self._trigger(trainer)):
            return
        entry = {name: float(value) for name, value in self._summary.compute_mean().items()}
        updater = trainer.updater
        entry['epoch'] = updater.epoch
        entry['iteration'] = updater.iteration
        entry['elapsed_time'] = trainer.elapsed_time
        if self._postprocess is not None:
            self._postprocess(entry)
        self._log.append(entry)
        if self._log_name is not None:
            self._write(trainer.out, self._log_name.format(**entry))
        self._summary = reporter.DictSummary()

    def _write(self, out, filename):
        if self._format == 'json-lines' and self._append:
            # appending one line is as safe as a rewrite: a crash can only cut the last line
            with open(os.path.join(out, filename), 'a') as stream:
                stream.write(json.dumps(self._log[-1]) + '\n')
            return

        if self._format == 'json':
            text = self._json_text()
        else:
            text = ''.join(json.dumps(entry) + '\n' for entry in self._log)

        def write(path):
            with open(path, 'w') as stream:
                stream.write(text)
        write_atomically(out, filename, write)

    def _json_text(self):
        """``json.dumps(log, indent=4)``, encoding each entry once: the file is rewritten at
        every trigger, and re-encoding the whole log each time grows quadratically."""
        cache = self._encoded
        log = self._log
        if len(cache) > len(log) or (cache and cache[-1][0] is not log[len(cache) - 1]):
            cache.clear()  # the log was replaced (loaded from a snapshot)
        for entry in log[len(cache):]:
            # an entry nested in the list is its own indented text shifted by one level
            cache.append((entry, '    ' + json.dumps(entry, indent=4).replace('\n', '\n    ')))
        if not cache:
            return '[]'
        return '[\n' + ',\n'.join(text for _, text in cache) + '\n]'

    @property
    def log(self):
        """The entries logged so far (a list of dicts)."""
        return self._log

    def serialize(self, serializer):
        """Save or load the trigger, the running summary and the log."""
        if hasattr(self._trigger, 'serialize'):
            self._trigger.serialize(serializer['_trigger'])
        self._summary.serialize(serializer['_summary'])
        self._log = json.loads(str(serializer('_log', json.dumps(self._log))))
