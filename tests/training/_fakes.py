"""Small stand-ins for the pieces around the training loop, so triggers and extensions are
tested on their own: an updater whose progress is set by hand, a model that reports a loss,
an optimizer holding a few attributes, and a dict-backed serializer pair."""
import types

import numpy

import dchain
from dchain import reporter
from dchain.training import Updater


class Model(dchain.Chain):
    """A chain with one child and a parameter; ``report_loss`` reports through the reporter."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.child = dchain.Link()
            self.W = dchain.Parameter(numpy.zeros(3, dtype=numpy.float32))

    def report_loss(self, value):
        reporter.report({'loss': value}, self)
        reporter.report({'inner': 2 * value}, self.child)


class FakeOptimizer:
    """Holds the attributes that schedule extensions edit."""

    def __init__(self, target, lr=0.1):
        self.target = target
        self.lr = lr
        self.alpha = 0.001

    def serialize(self, serializer):
        self.lr = float(serializer('lr', self.lr))


class FakeUpdater(Updater):
    """``update()`` counts an iteration (``iters_per_epoch`` make an epoch) and has the model
    report ``loss_of(iteration)``."""

    def __init__(self, iters_per_epoch=4, loss_of=float, model=None):
        self.model = model if model is not None else Model()
        self.optimizer = FakeOptimizer(self.model)
        self.iters_per_epoch = iters_per_epoch
        self.loss_of = loss_of
        self.iteration = 0
        self.finalized = False

    @property
    def epoch(self):
        return self.iteration // self.iters_per_epoch

    @property
    def epoch_detail(self):
        return self.iteration / self.iters_per_epoch

    @property
    def previous_epoch_detail(self):
        return max(self.iteration - 1, 0) / self.iters_per_epoch

    @property
    def is_new_epoch(self):
        return self.iteration > 0 and self.iteration % self.iters_per_epoch == 0

    def get_optimizer(self, name):
        return {'main': self.optimizer}[name]

    def get_all_optimizers(self):
        return {'main': self.optimizer}

    def update(self):
        # the count moves after the step, as in StandardUpdater
        self.model.report_loss(self.loss_of(self.iteration + 1))
        self.iteration += 1

    def finalize(self):
        self.finalized = True

    def serialize(self, serializer):
        self.optimizer.serialize(serializer['optimizer:main'])
        self.iteration = int(serializer('iteration', self.iteration))


def fake_trainer(iters_per_epoch=4, out='.', observation=None):
    """A trainer-like object for driving one trigger or extension by hand."""
    updater = FakeUpdater(iters_per_epoch)
    return types.SimpleNamespace(updater=updater, observation=observation or {}, out=out,
                                 elapsed_time=1.5, stop_trigger=None)


def step(trainer, observation=None):
    """Advance the fake trainer one iteration and set its observation."""
    trainer.updater.iteration += 1
    trainer.observation = dict(observation or {})


class DictSerializer:
    """Chainer's saving protocol into a flat dict (values stored as they are)."""

    def __init__(self, target=None, path=''):
        self.target = {} if target is None else target
        self.path = path

    def __getitem__(self, name):
        return DictSerializer(self.target, self.path + name + '/')

    def __call__(self, key, value):
        self.target[self.path + key] = numpy.array(value, copy=True)
        return value


class DictDeserializer:
    """Chainer's loading protocol out of a flat dict written by DictSerializer."""

    def __init__(self, source, path=''):
        self.source = source
        self.path = path

    def __getitem__(self, name):
        return DictDeserializer(self.source, self.path + name + '/')

    def __call__(self, key, value):
        stored = self.source[self.path + key]
        if isinstance(value, numpy.ndarray):
            value[...] = stored
            return value
        if value is None:
            return stored
        return type(value)(stored[()])


def round_trip(source, destination):
    """Save ``source`` and load the result into ``destination``; return the saved dict."""
    serializer = DictSerializer()
    source.serialize(serializer)
    destination.serialize(DictDeserializer(serializer.target))
    return serializer.target


class ListIterator:
    """Yields the given batches once per pass; ``reset()`` starts a new pass."""

    def __init__(self, batches, resettable=True):
        self.batches = batches
        self.position = 0
        self.resets = 0
        if resettable:
            self.reset = self._reset

    def _reset(self):
        self.position = 0
        self.resets += 1

    def __iter__(self):
        return self

    def __next__(self):
        if self.position >= len(self.batches):
            raise StopIteration
        self.position += 1
        return self.batches[self.position - 1]

    next = __next__


class EpochIterator:
    """In-order batches over ``dataset``, repeating, with the epoch bookkeeping of Chainer's
    SerialIterator (``epoch``, ``epoch_detail``, ``is_new_epoch``); the batch size must divide
    the dataset."""

    def __init__(self, dataset, batch_size):
        self.dataset = dataset
        self.batch_size = batch_size
        self.current_position = 0
        self.epoch = 0
        self.is_new_epoch = False
        self._previous_epoch_detail = -1.0
        self.finalized = False

    def __next__(self):
        self._previous_epoch_detail = self.epoch_detail
        start = self.current_position
        batch = self.dataset[start:start + self.batch_size]
        self.current_position = start + self.batch_size
        self.is_new_epoch = self.current_position >= len(self.dataset)
        if self.is_new_epoch:
            self.current_position = 0
            self.epoch += 1
        return batch

    next = __next__

    @property
    def epoch_detail(self):
        return self.epoch + self.current_position / len(self.dataset)

    @property
    def previous_epoch_detail(self):
        return None if self._previous_epoch_detail < 0 else self._previous_epoch_detail

    def finalize(self):
        self.finalized = True

    def serialize(self, serializer):
        self.current_position = int(serializer('current_position', self.current_position))
        self.epoch = int(serializer('epoch', self.epoch))
        self.is_new_epoch = bool(serializer('is_new_epoch', self.is_new_epoch))
        self._previous_epoch_detail = float(
            serializer('previous_epoch_detail', self._previous_epoch_detail))
