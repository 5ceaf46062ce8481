"""ProgressBar: training progress, speed and estimated time left."""
import datetime
import numbers
import sys
import time

from dchain.training import extension
from dchain.training.extensions._throughput import samples_seen


class ProgressBar(extension.Extension):
    """Show the total progress, this epoch's progress, the speed (iterations/s, and examples
    per second read by all ranks together) and the estimated time left every
    ``update_interval`` iterations.

    On a terminal the block redraws itself in place (PrintReport's rows replace it and it
    reappears below them); on any other stream (a log file, a pipe) each update is one plain
    line, with no escape codes or carriage returns.

    Args:
        training_length: ``(length, unit)``, e.g. ``(20, 'epoch')``; read from the stop
            trigger's ``get_training_length()`` when None.
        update_interval (int): iterations between updates.
        bar_length (int): characters in each bar.
        out: a text stream (``sys.stdout`` by default).
    """

    trigger = 1, 'iteration'

    def __init__(self, training_length=None, update_interval=100, bar_length=50,
                 out=sys.stdout):
        if isinstance(update_interval, bool) or not isinstance(update_interval, numbers.Integral) \
                or update_interval < 1:
            raise ValueError('ProgressBar: update_interval must be a positive int, got {!r}'
                             .format(update_interval))
        self._training_length = training_length
        self._update_interval = update_interval
        self._bar_length = bar_length
        self._out = out
        self._recent = []  # (iteration, epoch_detail, time, samples) of the last few updates
        self._drawn = False

    def _length(self, trainer):
        length = self._training_length
        if length is None:
            get_length = getattr(trainer.stop_trigger, 'get_training_length', None)
            if get_length is None:
                raise ValueError('ProgressBar: give training_length; the stop trigger {!r} has '
                                 'no get_training_length()'.format(trainer.stop_trigger))
            length = self._training_length = get_length()
        return length

    def initialize(self, trainer):
        """Note where and when this run starts, so the first update already has a speed."""
        updater = trainer.updater
        self._recent = [(updater.iteration, updater.epoch_detail, time.time(),
                         samples_seen(trainer))]

    def __call__(self, trainer):
        """Record the time; every ``update_interval`` iterations, show the progress."""
        updater = trainer.updater
        iteration = updater.iteration
        if iteration % self._update_interval:
            return
        epoch_detail = updater.epoch_detail
        now = time.time()
        recent = self._recent
        recent.append((iteration, epoch_detail, now, samples_seen(trainer)))
        if len(recent) > 10:
            del recent[0]
        self._show(trainer, iteration, epoch_detail, now)

    def _show(self, trainer, iteration, epoch_detail, now):
        length, unit = self._length(trainer)
        done = iteration if unit == 'iteration' else epoch_detail
        total_rate = min(done / length, 1.0) if length else 1.0
        epoch_rate = epoch_detail - int(epoch_detail)
        first_iteration, first_epoch, first_time, first_samples = self._recent[0]
        samples = self._recent[-1][3]
        span = now - first_time
        if span > 0 and iteration > first_iteration:
            speed = (iteration - first_iteration) / span
            if unit == 'iteration':
                left = (length - iteration) / speed
            else:
                left = (length - epoch_detail) * span / max(epoch_detail - first_epoch, 1e-12)
            speed_text = '{:10.5g} iters/sec. Estimated time to finish: {}.'.format(
                speed, datetime.timedelta(seconds=max(int(left), 0)))
            if samples is not None and first_samples is not None:
                speed_text += ' {:.5g} samples/sec (all ranks).'.format(
                    (samples - first_samples) / span)
        else:
            speed_text = '{:>10} iters/sec. Estimated time to finish: unknown.'.format('n/a')
        position = '{:10} iter, {} epoch / {} {}s'.format(
            iteration, trainer.updater.epoch, length, unit)
        if self._is_terminal():
            self._draw_block(total_rate, epoch_rate, position, speed_text)
        else:
            self._out.write('{} | total {:6.2%} | this epoch {:6.2%} | {}\n'.format(
                position.strip(), total_rate, epoch_rate, speed_text.strip()))
            self._out.flush()

    def _bar(self, rate):
        marks = int(rate * self._bar_length)
        return '[{}{}] {:6.2%}'.format('#' * marks, '.' * (self._bar_length - marks), rate)

    def _draw_block(self, total_rate, epoch_rate, position, speed_text):
        out = self._out
        out.write('\033[J')  # clear the previous block (the cursor sits at its head)
        out.write('     total {}\n'.format(self._bar(total_rate)))
        out.write('this epoch {}\n'.format(self._bar(epoch_rate)))
        out.write(position + '\n')
        out.write(speed_text + '\n')
        # back to the head of the block, as Chainer does: the next draw, or a PrintReport
        # row, replaces it there
        out.write('\033[4A')
        out.flush()
        self._drawn = True

    def _is_terminal(self):
        isatty = getattr(self._out, 'isatty', None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # a closed stream
            return False

    def finalize(self):
        """Erase the block from a terminal so what follows starts clean."""
        if self._drawn and self._is_terminal():
            self._out.write('\033[J')
            self._out.flush()
