import numpy
import pytest

from dchain import random, training
from dchain.training import Extension, Trainer, make_extension
from dchain.training.triggers import IntervalTrigger

from ._fakes import DictDeserializer, DictSerializer, FakeUpdater


class Recorder(Extension):
    """Records the iterations at which it runs and what it saw."""

    def __init__(self, log, label=None, priority=None, trigger=None):
        self.log = log
        self.label = label
        if priority is not None:
            self.priority = priority
        if trigger is not None:
            self.trigger = trigger
        self.events = []
        self.state = 0

    def initialize(self, trainer):
        self.events.append('initialize')

    def __call__(self, trainer):
        self.log.append((self.label, trainer.updater.iteration))
        self.state += 1

    def on_error(self, trainer, exc, tb):
        self.events.append(('on_error', type(exc).__name__))

    def finalize(self):
        self.events.append('finalize')

    def serialize(self, serializer):
        self.state = int(serializer('state', self.state))


def _trainer(tmp_path, stop=(3, 'iteration'), **kwargs):
    return Trainer(FakeUpdater(**kwargs), stop, out=str(tmp_path / 'result'))


def test_runs_until_stop_trigger_and_creates_out(tmp_path):
    trainer = _trainer(tmp_path, (2, 'epoch'), iters_per_epoch=3)
    trainer.run()
    assert trainer.updater.iteration == 6
    assert (tmp_path / 'result').is_dir()
    assert trainer.updater.finalized


def test_extensions_run_by_priority_then_registration(tmp_path):
    log = []
    trainer = _trainer(tmp_path, (2, 'iteration'))
    trainer.extend(Recorder(log, 'reader'))
    trainer.extend(Recorder(log, 'writer', priority=training.PRIORITY_WRITER))
    trainer.extend(Recorder(log, 'reader2'))
    trainer.extend(Recorder(log, 'editor'), priority=training.PRIORITY_EDITOR)
    trainer.run()
    order = ('writer', 'editor', 'reader', 'reader2')
    assert log == [(label, i) for i in (1, 2) for label in order]


def test_triggers_from_extension_or_extend(tmp_path):
    log = []
    trainer = _trainer(tmp_path, (6, 'iteration'), iters_per_epoch=3)
    trainer.extend(Recorder(log, 'own', trigger=(2, 'iteration')))
    trainer.extend(Recorder(log, 'given'), trigger=(1, 'epoch'))
    trainer.extend(Recorder(log, 'object'), trigger=IntervalTrigger(5, 'iteration'))
    trainer.run()
    assert [i for label, i in log if label == 'own'] == [2, 4, 6]
    assert [i for label, i in log if label == 'given'] == [3, 6]
    assert [i for label, i in log if label == 'object'] == [5]


def test_names(tmp_path):
    trainer = _trainer(tmp_path)
    first, second = Recorder([]), Recorder([])
    trainer.extend(first)
    trainer.extend(second)

    @make_extension(default_name='custom')
    def decorated(trainer):
        pass

    def plain(trainer):
        pass
    trainer.extend(decorated)
    trainer.extend(plain)
    trainer.extend(lambda trainer: None, name='lam')
    assert first.name == 'Recorder' and second.name == 'Recorder_1'
    assert trainer.get_extension('Recorder_1') is second
    assert trainer.get_extension('custom') is decorated
    assert trainer.get_extension('plain') is plain
    assert trainer.get_extension('lam')(trainer) is None
    with pytest.raises(ValueError, match="Trainer.get_extension: no extension named 'nope'"):
        trainer.get_extension('nope')


def test_observation_has_model_and_child_prefixes(tmp_path):
    seen = []
    trainer = _trainer(tmp_path, (2, 'iteration'), loss_of=lambda i: 0.5 * i)
    trainer.extend(lambda trainer: seen.append(dict(trainer.observation)), name='spy')
    trainer.run()
    assert seen == [{'main/loss': 0.5, 'main/child/inner': 1.0},
                    {'main/loss': 1.0, 'main/child/inner': 2.0}]


def test_hooks_and_call_before_training(tmp_path):
    log = []
    extension = Recorder(log, 'x')
    trainer = _trainer(tmp_path, (2, 'iteration'))
    trainer.extend(extension, call_before_training=True)
    trainer.run()
    assert log == [('x', 0), ('x', 1), ('x', 2)]
    assert extension.events == ['initialize', 'finalize']


def test_make_extension_hooks(tmp_path):
    events = []

    @make_extension(trigger=(2, 'iteration'), priority=7,
                    initializer=lambda trainer: events.append('init'),
                    finalizer=lambda: events.append('final'))
    def ext(trainer):
        events.append(trainer.updater.iteration)
    assert ext.trigger == (2, 'iteration') and ext.priority == 7 and ext.default_name == 'ext'
    trainer = _trainer(tmp_path, (4, 'iteration'))
    trainer.extend(ext)
    trainer.run()
    assert events == ['init', 2, 4, 'final']
    with pytest.raises(TypeError, match='make_extension: unexpected keyword arguments bogus'):
        make_extension(bogus=1)


def test_error_in_extension_finalizes_and_names_it(tmp_path, capsys):
    recorder = Recorder([])
    trainer = _trainer(tmp_path, (5, 'iteration'))
    trainer.extend(recorder)

    def broken(trainer):
        if trainer.updater.iteration == 2:
            raise ZeroDivisionError('boom')
    trainer.extend(broken, trigger=(1, 'iteration'))
    with pytest.raises(ZeroDivisionError, match='boom') as info:
        trainer.run()
    assert "extension 'broken'" in ''.join(info.value.__notes__)
    assert recorder.events == ['initialize', ('on_error', 'ZeroDivisionError'), 'finalize']
    assert trainer.updater.finalized
    assert trainer.updater.iteration == 2
    err = capsys.readouterr().err
    assert "raised by the extension 'broken': boom" in err
    assert 'Traceback' in err


def test_error_in_updater_is_named_and_message_can_be_silenced(tmp_path, capsys):
    def loss_of(iteration):
        if iteration == 3:
            raise ValueError('bad batch')
        return 1.0
    trainer = _trainer(tmp_path, (5, 'iteration'), loss_of=loss_of)
    with pytest.raises(ValueError, match='bad batch') as info:
        trainer.run(show_loop_exception_msg=False)
    assert 'updater at iteration 3' in ''.join(info.value.__notes__)
    assert capsys.readouterr().err == ''


def test_run_twice_and_bad_extend(tmp_path):
    trainer = _trainer(tmp_path, (1, 'iteration'))
    trainer.run()
    with pytest.raises(RuntimeError, match='Trainer.run: this trainer has already run'):
        trainer.run()
    with pytest.raises(TypeError, match='Trainer.extend: extension must be callable'):
        trainer.extend(42)
    with pytest.raises(TypeError, match='Trainer.extend: unexpected keyword arguments invoke'):
        trainer.extend(Recorder([]), invoke=True)


def test_elapsed_time(tmp_path):
    trainer = _trainer(tmp_path, (2, 'iteration'))
    assert trainer.elapsed_time == 0.0
    times = []
    trainer.extend(lambda trainer: times.append(trainer.elapsed_time), name='clock')
    trainer.run()
    assert 0 <= times[0] <= times[1] <= trainer.elapsed_time
    assert trainer.elapsed_time == trainer.elapsed_time  # frozen once the run is over


def test_serialize_covers_updater_triggers_and_extensions(tmp_path):
    first = _trainer(tmp_path, (10, 'iteration'))
    first.extend(Recorder([]), trigger=(3, 'iteration'))
    first.updater.iteration = 4
    first.updater.optimizer.lr = 0.25
    first.get_extension('Recorder').state = 7
    first.stop_trigger(first)  # the triggers have seen iteration 4
    first._extensions['Recorder'].trigger(first)
    serializer = DictSerializer()
    first.serialize(serializer)
    saved = serializer.target
    assert saved['updater/iteration'] == 4
    assert saved['extensions/Recorder/state'] == 7
    assert saved['extension_triggers/Recorder/previous_iteration'] == 4
    assert saved['stop_trigger/previous_iteration'] == 4
    assert '_snapshot_elapsed_time' in saved

    second = _trainer(tmp_path, (10, 'iteration'))
    second.extend(Recorder([]), trigger=(3, 'iteration'))
    second.serialize(DictDeserializer(saved))
    assert second.updater.iteration == 4
    assert second.updater.optimizer.lr == 0.25
    assert second.get_extension('Recorder').state == 7
    log = []
    second.get_extension('Recorder').log = log
    second.run()
    assert log == [(None, 6), (None, 9)]
    assert second.updater.iteration == 10


def test_serialize_restores_the_random_generator(tmp_path):
    trainer = _trainer(tmp_path)
    random.seed(3)
    random.get_generator().random(5)
    serializer = DictSerializer()
    trainer.serialize(serializer)
    expected = random.get_generator().random(4)
    random.seed(99)
    _trainer(tmp_path).serialize(DictDeserializer(serializer.target))
    numpy.testing.assert_array_equal(random.get_generator().random(4), expected)


def test_snapshot_without_random_state_loads(tmp_path):
    serializer = DictSerializer()
    _trainer(tmp_path).serialize(serializer)
    del serializer.target['_random_state']
    random.seed(5)
    expected = random.get_generator().random(2)
    random.seed(5)
    _trainer(tmp_path).serialize(StrictDeserializer(serializer.target))
    numpy.testing.assert_array_equal(random.get_generator().random(2), expected)


class StrictDeserializer(DictDeserializer):
    def __getitem__(self, name):
        return StrictDeserializer(self.source, self.path + name + '/')

    def __call__(self, key, value):
        if self.path + key not in self.source:
            raise KeyError(self.path + key)
        return super().__call__(key, value)
