import json

import numpy
import pytest

import dchain
from dchain import reporter
from dchain.dataset import concat_examples
from dchain.training import Trainer
from dchain.training.extensions import Evaluator, LogReport

from .._fakes import FakeUpdater, ListIterator, Model


class MeanModel(dchain.Chain):
    """Reports the batch mean of x as 'loss' and of x * t as 'weighted'; records the modes it
    ran in."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.inner = dchain.Link()
        self.modes = []

    def forward(self, x, t=None):
        self.modes.append((dchain.config.train, dchain.config.enable_backprop))
        values = {'loss': x.mean(), 'batch': numpy.asarray(float(len(x)))}
        if t is not None:
            values['weighted'] = (x * t).mean()
        reporter.report(values, self)
        reporter.report({'seen': x.max()}, self.inner)
        return x.mean()


def _batches(sizes, start=0, as_dict=False):
    # examples 0, 1, 2, ... in batches of the given sizes
    batches, value = [], start
    for size in sizes:
        if as_dict:
            batches.append([{'x': numpy.float32(value + i), 't': numpy.float32(2)}
                            for i in range(size)])
        else:
            batches.append([numpy.float32(value + i) for i in range(size)])
        value += size
    return batches


@pytest.mark.parametrize('sizes', [[4, 4, 2], [3, 3, 3, 1], [10], [1, 9]])
def test_sample_weighted_mean(sizes):
    model = MeanModel()
    evaluator = Evaluator(ListIterator(_batches(sizes)), model, converter=concat_examples)
    result = evaluator()
    # the mean over all 10 examples, whatever the batching
    assert result['main/loss'] == pytest.approx(4.5)
    assert result['main/batch'] == pytest.approx(sum(s * s for s in sizes) / 10)
    assert result['main/inner/seen'] == pytest.approx(
        sum(size * (sum(sizes[:i + 1]) - 1) for i, size in enumerate(sizes)) / 10)
    assert set(model.modes) == {(False, False)}
    assert dchain.config.train and dchain.config.enable_backprop


def test_dict_batches_eval_func_and_hook():
    model = MeanModel()
    hooked = []
    evaluator = Evaluator(ListIterator(_batches([3, 2], as_dict=True)), {'main': model},
                          converter=concat_examples, eval_hook=hooked.append,
                          eval_func=lambda **arrays: model(**arrays))
    result = evaluator()
    assert result['main/weighted'] == pytest.approx(4.0)
    assert hooked == [evaluator]


def test_iterator_reset_each_time_or_copied():
    iterator = ListIterator(_batches([2, 2]))
    evaluator = Evaluator(iterator, MeanModel(), converter=concat_examples)
    first, second = evaluator(), evaluator()
    assert first == second and iterator.resets == 2
    plain = ListIterator(_batches([2, 2]), resettable=False)
    evaluator = Evaluator(plain, MeanModel(), converter=concat_examples)
    with pytest.warns(UserWarning, match='Evaluator: the iterator has no reset'):
        assert evaluator()['main/loss'] == pytest.approx(1.5)
    assert plain.position == 0  # a copy was consumed


def test_in_a_trainer_reports_validation_keys(tmp_path):
    trainer = Trainer(FakeUpdater(2), (2, 'epoch'), out=str(tmp_path))
    model = MeanModel()
    trainer.extend(Evaluator(ListIterator(_batches([4, 4, 2])), model, converter=concat_examples))
    trainer.extend(LogReport())
    trainer.run()
    log = json.loads((tmp_path / 'log').read_text())
    assert [entry['validation/main/loss'] for entry in log] == pytest.approx([4.5, 4.5])
    assert 'validation/main/inner/seen' in log[0]
    assert len(model.modes) == 6  # 3 batches at each of the 2 epochs
    assert trainer.get_extension('validation').name == 'validation'


def test_two_evaluators_get_distinct_names(tmp_path):
    trainer = Trainer(FakeUpdater(1), (1, 'epoch'), out=str(tmp_path))
    trainer.extend(Evaluator(ListIterator(_batches([2])), MeanModel(), converter=concat_examples))
    trainer.extend(Evaluator(ListIterator(_batches([2], start=10)), MeanModel(),
                             converter=concat_examples))
    seen = []
    trainer.extend(lambda trainer: seen.append(dict(trainer.observation)), name='spy')
    trainer.run()
    assert seen[0]['validation/main/loss'] == 0.5
    assert seen[0]['validation_1/main/loss'] == 10.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="Evaluator: a dict of targets must have a 'main' target"):
        Evaluator(ListIterator([]), {'model': Model()})
    with pytest.raises(ValueError, match="Evaluator: a dict of iterators must have a 'main'"):
        Evaluator({'test': ListIterator([])}, Model())
