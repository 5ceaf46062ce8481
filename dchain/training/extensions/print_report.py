"""PrintReport: print LogReport's entries as a table."""
import sys
import time

from dchain.training import extension
from dchain.training.extensions._throughput import samples_seen
from dchain.training.extensions.log_report import LogReport

THROUGHPUT = 'samples/sec'


class PrintReport(extension.Extension):
    """Print a header once, then a row per new LogReport entry, columns as in Chainer:
    each at least 10 characters wide, numbers in ``g`` format, an empty cell when a key is
    missing from the entry.

    The entry ``'samples/sec'`` (dchain's) prints the examples read per second by all ranks
    together since the previous row, when the log entry does not hold it itself.

    Args:
        entries (list of str): the keys to print, e.g. ``['epoch', 'main/loss']``.
        log_report (str or LogReport): the LogReport (or its registered name) to read.
        out: a text stream (``sys.stdout`` by default).
    """

    def __init__(self, entries, log_report='LogReport', out=sys.stdout):
        if isinstance(entries, str):
            raise TypeError('PrintReport: entries must be a list of keys, got the str {!r}'
                            .format(entries))
        self._entries = list(entries)
        self._log_report = log_report
        self._out = out
        self._log_len = 0
        widths = [max(10, len(entry)) for entry in self._entries]
        self._header = '  '.join(entry.ljust(width) for entry, width
                                 in zip(self._entries, widths)) + '\n'
        self._throughput_from = None  # (samples, seconds) at the previous row
        self._templates = [(entry, '{:<%dg}  ' % width, '{:<%d}  ' % width, ' ' * (width + 2))
                           for entry, width in zip(self._entries, widths)]

    def _get_log_report(self, trainer):
        log_report = self._log_report
        if isinstance(log_report, str):
            return trainer.get_extension(log_report)
        if isinstance(log_report, LogReport):
            log_report(trainer)  # a LogReport not registered with the trainer is driven here
            return log_report
        raise TypeError('PrintReport: log_report must be a LogReport or the name of one, '
                        'got {}'.format(type(log_report).__name__))

    def initialize(self, trainer):
        """Note where this run starts, for the first row's samples/sec."""
        if THROUGHPUT in self._entries:
            self._throughput_from = (samples_seen(trainer), self._seconds(trainer, {}))

    @staticmethod
    def _seconds(trainer, entry):
        seconds = entry.get('elapsed_time')
        if seconds is None:
            seconds = getattr(trainer, 'elapsed_time', None)
        return time.time() if seconds is None else seconds

    def _with_throughput(self, trainer, entry):
        if THROUGHPUT not in self._entries or THROUGHPUT in entry:
            return entry
        samples, seconds = samples_seen(trainer), self._seconds(trainer, entry)
        start = self._throughput_from
        self._throughput_from = (samples, seconds)
        if start is None or samples is None or start[0] is None or seconds <= start[1]:
            return entry
        entry = dict(entry)
        entry[THROUGHPUT] = (samples - start[0]) / (seconds - start[1])
        return entry

    def __call__(self, trainer):
        """Print the rows of the entries LogReport added since the last call."""
        out = self._out
        if self._header:
            out.write(self._header)
            self._header = None
        log = self._get_log_report(trainer).log
        while len(log) > self._log_len:
            if self._is_terminal():
                out.write('\033[J')  # erase a ProgressBar block left under the cursor
            self._print(self._with_throughput(trainer, log[self._log_len]))
            self._log_len += 1
        if hasattr(out, 'flush'):
            out.flush()

    def _is_terminal(self):
        isatty = getattr(self._out, 'isatty', None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # a closed stream
            return False

    def _print(self, entry):
        cells = []
        for key, number, text, empty in self._templates:
            if key not in entry:
                cells.append(empty)
                continue
            value = entry[key]
            try:
                cells.append(number.format(value))
            except (TypeError, ValueError):
                cells.append(text.format(str(value)))
        self._out.write(''.join(cells) + '\n')

    def serialize(self, serializer):
        """Save or load the state of a LogReport given as an object (not by name)."""
        if isinstance(self._log_report, LogReport):
            self._log_report.serialize(serializer['_log_report'])
