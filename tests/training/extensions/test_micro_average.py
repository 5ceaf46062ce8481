import json
import math

import numpy
import pytest

from dchain import reporter
from dchain.training import Trainer, make_extension
from dchain.training.extensions import LogReport, MicroAverage

from .._fakes import FakeUpdater, fake_trainer, round_trip, step

# (correct, total) per iteration: batch sizes differ, so the micro average (sum / sum)
# differs from the mean of the per-batch ratios
BATCHES = [(3, 4), (1, 1), (0, 2), (2, 2)]


def _drive(extension, trainer, batches):
    reported = []
    for correct, total in batches:
        step(trainer, {'main/correct': numpy.int64(correct), 'main/total': total})
        with reporter.report_scope(trainer.observation):
            extension(trainer)
        if 'main/accuracy' in trainer.observation:
            reported.append((trainer.updater.iteration, trainer.observation['main/accuracy']))
    return reported


def test_reports_ratio_of_sums_at_the_trigger():
    extension = MicroAverage('main/correct', 'main/total', 'main/accuracy',
                             trigger=(2, 'iteration'))
    assert extension.priority == 200   # an editor: after writers, before readers
    reported = _drive(extension, fake_trainer(), BATCHES)
    assert reported == [(2, 4 / 5), (4, 2 / 4)]


def test_iterations_without_both_keys_are_skipped():
    extension = MicroAverage('main/correct', 'main/total', 'main/accuracy',
                             trigger=(1, 'iteration'))
    trainer = fake_trainer()
    step(trainer, {'main/correct': 1})
    extension(trainer)
    assert 'main/accuracy' not in trainer.observation
    assert _drive(extension, trainer, [(1, 2)]) == [(2, 0.5)]


def test_zero_denominator_reports_nan_with_a_warning():
    extension = MicroAverage('main/correct', 'main/total', 'main/accuracy',
                             trigger=(1, 'iteration'))
    with pytest.warns(UserWarning, match="MicroAverage: the sum of 'main/total' over the "
                                         "interval is 0; 'main/accuracy' is reported as NaN"):
        reported = _drive(extension, fake_trainer(), [(0, 0)])
    assert math.isnan(reported[0][1])


@pytest.mark.parametrize('split', [1, 3])
def test_resume_keeps_the_running_sums(split):
    first = MicroAverage('main/correct', 'main/total', 'main/accuracy', trigger=(2, 'iteration'))
    trainer = fake_trainer()
    head = _drive(first, trainer, BATCHES[:split])
    resumed = MicroAverage('main/correct', 'main/total', 'main/accuracy',
                           trigger=(2, 'iteration'))
    round_trip(first, resumed)
    assert head + _drive(resumed, trainer, BATCHES[split:]) == [(2, 4 / 5), (4, 2 / 4)]


def test_log_report_sees_the_result(tmp_path):
    trainer = Trainer(FakeUpdater(2), (2, 'epoch'), out=str(tmp_path))

    @make_extension(trigger=(1, 'iteration'), priority=300)
    def count(trainer):
        correct, total = BATCHES[trainer.updater.iteration - 1]
        reporter.report({'correct': correct, 'total': total}, trainer.updater.model)
    trainer.extend(count)
    trainer.extend(MicroAverage('main/correct', 'main/total', 'main/accuracy'))
    trainer.extend(LogReport())
    trainer.run()
    log = json.loads((tmp_path / 'log').read_text())
    assert [entry['main/accuracy'] for entry in log] == [4 / 5, 2 / 4]
