import json

from dchain.training import PRIORITY_WRITER, Trainer
from dchain.training.extensions import LogReport, observe_lr, observe_value

from .._fakes import FakeUpdater


def test_observe_lr_and_value_reach_the_log(tmp_path):
    trainer = Trainer(FakeUpdater(2), (2, 'epoch'), out=str(tmp_path))
    trainer.extend(LogReport())
    trainer.extend(observe_lr())
    trainer.extend(observe_value('twice_iteration', lambda t: 2 * t.updater.iteration))

    def decay(trainer):
        trainer.updater.optimizer.lr /= 2
    trainer.extend(decay, trigger=(1, 'epoch'), priority=PRIORITY_WRITER + 1)
    trainer.run()
    log = json.loads((tmp_path / 'log').read_text())
    assert [entry['lr'] for entry in log] == [0.05, 0.025]
    assert [entry['twice_iteration'] for entry in log] == [4, 8]


def test_defaults():
    extension = observe_lr('other', 'learning_rate')
    assert extension.trigger == (1, 'epoch')
    assert extension.priority == PRIORITY_WRITER
