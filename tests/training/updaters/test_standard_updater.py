import numpy
import pytest

import dchain
from dchain import optimizers, serializers
from dchain.dataset import concat_examples
from dchain.training import StandardUpdater
from dchain.training.updaters import StandardUpdater as StandardUpdaterFromPackage

from .._fakes import EpochIterator


class Quadratic(dchain.Chain):
    """loss = sum(w * x) + sum(w ** 2) / 2 over the batch; records how it was called."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.w = dchain.Parameter(numpy.ones(2, dtype=numpy.float32))
        self.calls = []

    def forward(self, x, scale=None):
        self.calls.append((x.shape, scale if scale is None else scale.shape))
        loss = dchain.functions.sum(self.w * x) + dchain.functions.sum(self.w * self.w) / 2
        return loss if scale is None else loss * float(scale.sum())


def _updater(dataset, batch_size=2, **kwargs):
    model = Quadratic()
    optimizer = optimizers.SGD(lr=0.1).setup(model)
    iterator = EpochIterator(dataset, batch_size)
    return StandardUpdater(iterator, optimizer, **kwargs), model, optimizer, iterator


def _pairs(n):
    return [(numpy.full(2, i, numpy.float32), numpy.float32(1)) for i in range(n)]


def test_exported_names():
    assert StandardUpdater is StandardUpdaterFromPackage


def test_update_steps_and_counts():
    updater, model, optimizer, iterator = _updater([numpy.full(2, 1, numpy.float32)] * 4)
    assert updater.iteration == 0 and updater.epoch == 0 and updater.epoch_detail == 0
    updater.update()
    # a single array per example: the batch is one array, passed as one argument
    assert model.calls == [((2, 2), None)]
    # gradient of sum(w * x) + sum(w**2)/2 with x of two rows of ones: 2 + w = 3
    numpy.testing.assert_allclose(model.w.array, [1 - 0.1 * 3] * 2, rtol=1e-6)
    assert updater.iteration == 1 and optimizer.t == 1
    assert updater.epoch_detail == 0.5 and not updater.is_new_epoch
    updater.update()
    assert updater.epoch == 1 and updater.is_new_epoch and updater.previous_epoch_detail == 0.5
    assert optimizer.epoch == 1  # new_epoch(auto=True) at the boundary
    assert optimizer.use_auto_new_epoch


def test_tuple_batches_are_positional_and_dict_batches_keywords():
    updater, model, _, _ = _updater(_pairs(4))
    updater.update()
    assert model.calls == [((2, 2), (2,))]
    examples = [{'x': numpy.zeros(2, numpy.float32), 'scale': numpy.float32(2)}] * 4
    updater, model, _, _ = _updater(examples)
    updater.update()
    assert model.calls == [((2, 2), (2,))]


def test_converter_device_and_loss_func():
    seen = []

    def converter(batch, device):
        seen.append((len(batch), device))
        return concat_examples(batch, device)
    losses = []

    def loss_func(x, scale):
        losses.append(x.shape)
        return dchain.functions.sum(model.w * x)
    updater, model, _, _ = _updater(_pairs(4), converter=converter, device='@numpy',
                                    loss_func=loss_func)
    updater.update()
    # a plain function is a legacy converter: it gets Chainer's integer device, -1 for the CPU
    assert seen == [(2, -1)] and losses == [(2, 2)]
    assert model.calls == []
    assert updater.device == updater.input_device == dchain.get_device(-1)
    assert updater.get_iterator('main').current_position == 2


def test_auto_new_epoch_off():
    updater, _, optimizer, _ = _updater(_pairs(2), auto_new_epoch=False)
    updater.update()
    assert optimizer.epoch == 0 and not optimizer.use_auto_new_epoch


def test_dicts_of_iterators_and_optimizers():
    model = Quadratic()
    main = optimizers.SGD().setup(model)
    other = optimizers.SGD().setup(Quadratic())
    iterator = EpochIterator(_pairs(2), 1)
    updater = StandardUpdater({'main': iterator, 'extra': EpochIterator(_pairs(2), 1)},
                              {'main': main, 'other': other})
    assert updater.get_optimizer('other') is other
    assert updater.get_all_optimizers() == {'main': main, 'other': other}
    updater.get_all_optimizers().clear()  # a copy
    assert updater.get_optimizer('main') is main
    updater.finalize()
    assert iterator.finalized and updater.get_iterator('extra').finalized


def test_serialize_layout_and_round_trip(tmp_path):
    updater, model, optimizer, iterator = _updater(_pairs(6))
    for _ in range(4):
        updater.update()
    path = str(tmp_path / 'updater.npz')
    serializers.save_npz(path, updater)
    with numpy.load(path) as archive:
        keys = set(archive.files)
    assert {'iteration', 'iterator:main/current_position', 'optimizer:main/t',
            'optimizer:main/epoch', 'model:main/w'} <= keys

    fresh, fresh_model, fresh_optimizer, fresh_iterator = _updater(_pairs(6))
    serializers.load_npz(path, fresh)
    assert fresh.iteration == 4 and fresh_optimizer.t == 4 and fresh.epoch == 1
    assert fresh_iterator.current_position == 2
    numpy.testing.assert_array_equal(fresh_model.w.array, model.w.array)
    updater.update()
    fresh.update()
    numpy.testing.assert_array_equal(fresh_model.w.array, model.w.array)


def test_bad_arguments():
    model = Quadratic()
    with pytest.raises(TypeError, match="StandardUpdater: optimizer 'main' must be an Optimizer "
                                        r"set up with a link \(call optimizer.setup\(model\)\), "
                                        "got SGD"):
        StandardUpdater(EpochIterator(_pairs(2), 1), optimizers.SGD())
    with pytest.raises(ValueError, match="StandardUpdater: a dict of iterators must have a "
                                         r"'main' iterator, got keys \['train'\]"):
        StandardUpdater({'train': EpochIterator(_pairs(2), 1)}, optimizers.SGD().setup(model))
    with pytest.raises(ValueError, match='StandardUpdater: optimizer must be an Optimizer or a '
                                         'non-empty dict of them, got an empty dict'):
        StandardUpdater(EpochIterator(_pairs(2), 1), {})


def test_input_device_moves_inputs_not_models():
    seen = []

    def converter(batch, device):
        seen.append(device)
        return concat_examples(batch, device)
    model = Quadratic()
    moved = []
    model.to_device = lambda device: moved.append(device)
    optimizer = optimizers.SGD(lr=0.1).setup(model)
    updater = StandardUpdater(EpochIterator(_pairs(4), 2), optimizer, converter=converter,
                              input_device=-1)
    assert updater.device is None and updater.input_device == dchain.get_device('@numpy')
    updater.update()
    assert moved == [] and seen == [-1]
    assert model.calls == [((2, 2), (2,))]
    # with device alone, the models go there and the inputs follow
    StandardUpdater(EpochIterator(_pairs(4), 2), optimizer, device='@numpy')
    assert moved == [dchain.get_device('@numpy')]


def test_optimizers_without_main():
    # a GAN's updater names its optimizers as it likes and steps them in its own update_core
    class TwoStep(StandardUpdater):
        def update_core(self):
            batch = self.get_iterator('main').next()
            x, _ = self.converter(batch, self.device)
            for name in ('gen', 'dis'):
                self.get_optimizer(name).update(self.get_optimizer(name).target, x)

    gen, dis = Quadratic(), Quadratic()
    updater = TwoStep(EpochIterator(_pairs(4), 2),
                      {'gen': optimizers.SGD(lr=0.1).setup(gen),
                       'dis': optimizers.SGD(lr=0.2).setup(dis)}, device=-1)
    updater.update()
    # x rows 0 and 1: gradient sum(x) + w = (1 + 1) per element
    numpy.testing.assert_allclose(gen.w.array, [1 - 0.1 * 2] * 2, rtol=1e-6)
    numpy.testing.assert_allclose(dis.w.array, [1 - 0.2 * 2] * 2, rtol=1e-6)
    assert updater.iteration == 1
    # the plain update_core needs a 'main' one, and says so
    plain = StandardUpdater(EpochIterator(_pairs(4), 2), {'gen': optimizers.SGD().setup(gen)})
    with pytest.raises(KeyError, match="steps the optimizer named 'main', and the optimizers "
                                       r"are \['gen'\]"):
        plain.update()


def test_loss_scale_needs_set_loss_scale():
    class Plain:
        target = Quadratic()

        def update(self, *args):
            pass

    class Scaled(Plain):
        def set_loss_scale(self, scale):
            self.scale = scale
    scaled = Scaled()
    StandardUpdater(EpochIterator(_pairs(2), 1), scaled, loss_scale=128.0)
    assert scaled.scale == 128.0
    with pytest.raises(TypeError, match="StandardUpdater: loss_scale needs optimizers with "
                                        r"set_loss_scale\(\); optimizer 'main' \(Plain\) has none"):
        StandardUpdater(EpochIterator(_pairs(2), 1), Plain(), loss_scale=128.0)
