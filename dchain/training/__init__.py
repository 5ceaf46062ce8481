"""The training loop: Trainer, updaters, triggers and extensions (Chainer's ``training``).

Typical use::

    updater = training.updaters.StandardUpdater(train_iter, optimizer)
    trainer = training.Trainer(updater, (20, 'epoch'), out='result')
    trainer.extend(extensions.Evaluator(test_iter, model))
    trainer.extend(extensions.LogReport())
    trainer.run()
"""
from dchain import reporter  # noqa: F401
from dchain.reporter import (DictSummary, Reporter, Summary, get_current_reporter,  # noqa: F401
                             report, report_scope)
from dchain.training import extensions, triggers, updaters  # noqa: F401
from dchain.training.extension import (PRIORITY_EDITOR, PRIORITY_READER,  # noqa: F401
                                       PRIORITY_WRITER, Extension, make_extension)
from dchain.training.trainer import Trainer  # noqa: F401
from dchain.training.triggers import IntervalTrigger, get_trigger  # noqa: F401
from dchain.training.updater import Updater  # noqa: F401
from dchain.training.updaters import ParallelUpdater, StandardUpdater  # noqa: F401
