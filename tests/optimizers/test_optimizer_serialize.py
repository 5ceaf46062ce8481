"""Optimizer state through serializers, in Chainer's key layout: a small dictionary
serializer written here, and the npz and HDF5 files."""
import numpy
import pytest

import dchain
from dchain import optimizers, serializers
from dchain.links.connection.linear import Linear
from dchain.serializers.base import Deserializer, Serializer


class DictSaver(Serializer):
    """Chainer's protocol at its simplest: keys joined by '/', values copied to the host."""

    def __init__(self, target=None, path=''):
        self.target = {} if target is None else target
        self.path = path

    def __getitem__(self, key):
        return DictSaver(self.target, self.path + key.strip('/') + '/')

    def __call__(self, key, value):
        self.target[self.path + key] = numpy.array(dchain.backend.to_cpu(value))
        return value


class DictLoader(Deserializer):
    """Returns stored arrays for None, copies them into arrays, converts scalars; a missing
    key raises KeyError."""

    def __init__(self, source, path=''):
        self.source = source
        self.path = path

    def __getitem__(self, key):
        return DictLoader(self.source, self.path + key.strip('/') + '/')

    def __call__(self, key, value):
        stored = self.source[self.path + key]
        if value is None:
            return stored.copy()
        if isinstance(value, numpy.ndarray):
            value[...] = stored
            return value
        if dchain.backend.is_gpu_array(value):
            value.set(stored)
            return value
        return type(value)(stored)


def _model(xp):
    dchain.random.seed(4)
    model = dchain.Chain(l1=Linear(3, 4), l2=Linear(4, 2))
    return model.to_device('@numpy' if xp is numpy else '@cupy:0')


def _train(xp, optimizer, model, steps, seed=0):
    rng = numpy.random.default_rng(seed)
    for _ in range(steps):
        for param in model.params():
            param.grad = xp.asarray(rng.uniform(-1, 1, param.shape), numpy.float32)
        optimizer.update()


def _trained(xp, fused=True, steps=3):
    model = _model(xp)
    optimizer = optimizers.Adam(alpha=0.05, amsgrad=True)
    optimizer.use_fused = fused
    optimizer.setup(model)
    _train(xp, optimizer, model, steps)
    optimizer.new_epoch()
    return model, optimizer


def _fresh_copy(xp, model, fused):
    other = _model(xp)
    other.copyparams(model)
    optimizer = optimizers.Adam(alpha=0.05, amsgrad=True)
    optimizer.use_fused = fused
    return other, optimizer.setup(other)


def test_keys_follow_chainers_layout():
    _, optimizer = _trained(numpy)
    saver = DictSaver()
    optimizer.serialize(saver)
    expected = {'t', 'epoch'}
    for layer in ('l1', 'l2'):
        for name in ('W', 'b'):
            expected.update('{}/{}/{}'.format(layer, name, key) for key in ('t', 'm', 'v', 'vhat'))
    assert set(saver.target) == expected
    assert int(saver.target['t']) == 3 and int(saver.target['epoch']) == 1
    assert int(saver.target['l1/W/t']) == 3
    assert saver.target['l1/W/m'].shape == (4, 3)
    numpy.testing.assert_array_equal(saver.target['l2/b/v'],
                                     _trained(numpy)[0].l2.b.update_rule.state['v'])


def _check_round_trip(xp, save, load, saved_fused, loaded_fused):
    model, optimizer = _trained(xp, saved_fused)
    saved = save(optimizer)
    other, loaded = _fresh_copy(xp, model, loaded_fused)
    load(saved, loaded)
    assert loaded.t == 3 and loaded.epoch == 1
    theirs = dict(model.namedparams())
    for path, param in other.namedparams():
        assert param.update_rule.t == 3
        assert sorted(param.update_rule.state) == ['m', 'v', 'vhat']
        for key, value in param.update_rule.state.items():
            numpy.testing.assert_array_equal(dchain.backend.to_cpu(value), dchain.backend.to_cpu(
                theirs[path].update_rule.state[key]))
    # Both continue identically, whichever of them runs fused.
    _train(xp, optimizer, model, 2, seed=1)
    _train(xp, loaded, other, 2, seed=1)
    for path, param in other.namedparams():
        numpy.testing.assert_array_equal(dchain.backend.to_cpu(param.data),
                                         dchain.backend.to_cpu(theirs[path].data))


def _dict_save(optimizer):
    saver = DictSaver()
    optimizer.serialize(saver)
    return saver.target


def _dict_load(saved, optimizer):
    optimizer.serialize(DictLoader(saved))


@pytest.mark.parametrize('saved_fused,loaded_fused', [(True, True), (True, False),
                                                      (False, True)])
def test_round_trip_through_a_dictionary(xp, saved_fused, loaded_fused):
    _check_round_trip(xp, _dict_save, _dict_load, saved_fused, loaded_fused)


@pytest.mark.parametrize('fmt', ['npz', 'hdf5'])
def test_round_trip_through_files(xp, tmp_path, fmt):
    path = str(tmp_path / ('optimizer.' + fmt))
    save = getattr(serializers, 'save_' + fmt)
    load = getattr(serializers, 'load_' + fmt)

    def save_file(optimizer):
        save(path, optimizer)
        return path

    _check_round_trip(xp, save_file, lambda saved, optimizer: load(saved, optimizer),
                      True, True)


def test_loading_into_states_already_created_copies_in_place():
    model, optimizer = _trained(numpy)
    saved = _dict_save(optimizer)
    other, loaded = _fresh_copy(numpy, model, True)
    _train(numpy, loaded, other, 1, seed=5)  # creates (different) states and packs them
    state = other.l1.W.update_rule.state['m']
    _dict_load(saved, loaded)
    assert other.l1.W.update_rule.state['m'] is state
    numpy.testing.assert_array_equal(state, model.l1.W.update_rule.state['m'])


def test_a_file_saved_before_the_first_update_loads_lazily():
    model = _model(numpy)
    optimizer = optimizers.Adam().setup(model)
    saved = _dict_save(optimizer)
    assert set(saved) == {'t', 'epoch'} | {'{}/{}/t'.format(layer, name)
                                           for layer in ('l1', 'l2') for name in ('W', 'b')}
    other, loaded = _fresh_copy(numpy, model, True)
    _dict_load(saved, loaded)
    assert other.l1.W.update_rule.state is None
    _train(numpy, loaded, other, 1)
    assert other.l1.W.update_rule.state['v'].shape == (4, 3)


def test_a_missing_state_is_an_error_only_for_enabled_parameters():
    model, optimizer = _trained(numpy)
    saved = _dict_save(optimizer)
    for key in ('m', 'v', 'vhat'):
        del saved['l1/W/' + key]
    other, loaded = _fresh_copy(numpy, model, True)
    with pytest.raises(KeyError, match='l1/W/m'):
        _dict_load(saved, loaded)
    other, loaded = _fresh_copy(numpy, model, True)
    other.l1.disable_update()
    _dict_load(saved, loaded)
    assert other.l1.W.update_rule.state is None
    assert other.l2.W.update_rule.state is not None
