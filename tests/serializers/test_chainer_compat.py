"""Files written by Chainer 7.8.1 load into the same dchain model, and dchain writes Chainer's keys.

The files under fixtures/ come from fixtures/make_chainer_fixtures.py, run with Chainer. The
reverse direction (Chainer loading dchain's files) runs when CHAINER_PYTHON names a Python with
Chainer 7.8.1 installed.
"""
import os
import subprocess
import sys

import h5py
import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
import dchain.optimizers
from dchain import serializers

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
SCRIPT = os.path.join(FIXTURES, 'make_chainer_fixtures.py')
TOL = dict(rtol=1e-5, atol=1e-6)


class Net(dchain.Chain):
    """The model of make_chainer_fixtures.py, layer for layer."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.conv = L.Convolution2D(1, 2, ksize=3, pad=1)
            self.bn = L.BatchNormalization(2)
            self.embed = L.EmbedID(5, 3)
            self.fc = L.Linear(2 * 4 * 4 + 3, 3)

    def forward(self, x, ids):
        # relu before bn: a bias just before batch normalization gets a zero gradient, and
        # Adam would turn its rounding noise into updates
        h = self.bn(F.relu(self.conv(x)))
        h = F.concat((F.reshape(h, (len(x), -1)), self.embed(ids)), axis=1)
        return self.fc(h)


def _fixture(name):
    return os.path.join(FIXTURES, name)


def _arrays(name):
    with numpy.load(_fixture(name)) as f:
        return dict(f)


def _build():
    model = L.Classifier(Net())
    optimizer = dchain.optimizers.Adam(alpha=0.01)
    optimizer.setup(model)
    return model, optimizer


def _outputs(model, expected):
    with dchain.using_config('train', False), dchain.no_backprop_mode():
        y_test = model.predictor(expected['x'], expected['ids']).data
    with dchain.no_backprop_mode():
        loss_train = model(expected['x'], expected['ids'], expected['t']).data
    return y_test, loss_train


def _params(model):
    return {path.lstrip('/'): dchain.backend.to_cpu(param.data)
            for path, param in model.namedparams()}


def _hdf5_datasets(filename):
    found = {}
    with h5py.File(filename, 'r') as f:
        f.visititems(lambda name, item: found.__setitem__(name, (item.shape, item.dtype))
                     if isinstance(item, h5py.Dataset) else None)
    return found


@pytest.mark.parametrize('name, load', [('chainer_model.npz', serializers.load_npz),
                                        ('chainer_model.h5', serializers.load_hdf5)])
def test_chainer_model_loads(name, load, device):
    model, _ = _build()
    model.to_device(device)
    model.predictor.bn.N = 5
    load(_fixture(name), model)
    saved = _arrays('chainer_model.npz')
    for key, value in _params(model).items():
        numpy.testing.assert_array_equal(value, saved[key], err_msg=key)
    bn = model.predictor.bn
    numpy.testing.assert_array_equal(dchain.backend.to_cpu(bn.avg_mean),
                                     saved['predictor/bn/avg_mean'])
    numpy.testing.assert_array_equal(dchain.backend.to_cpu(bn.avg_var),
                                     saved['predictor/bn/avg_var'])
    assert bn.N == saved['predictor/bn/N'] and type(bn.N) is int
    model.to_cpu()
    expected = _arrays('chainer_expected.npz')
    y_test, loss_train = _outputs(model, expected)
    numpy.testing.assert_allclose(y_test, expected['y_test'], **TOL)
    numpy.testing.assert_allclose(loss_train, expected['loss_train'], **TOL)


def test_chainer_adam_state_loads_and_updates_as_chainer(device):
    model, optimizer = _build()
    serializers.load_npz(_fixture('chainer_model.npz'), model)
    serializers.load_npz(_fixture('chainer_adam.npz'), optimizer)
    saved = _arrays('chainer_adam.npz')
    assert (optimizer.t, optimizer.epoch) == (2, 0)
    for path, param in model.namedparams():
        key = path.lstrip('/')
        rule = param.update_rule
        assert rule.t == saved[key + '/t'] == 2
        assert sorted(rule.state) == ['m', 'v']
        for name in ('m', 'v'):
            numpy.testing.assert_array_equal(rule.state[name], saved[key + '/' + name])
    model.to_device(device)
    expected = _arrays('chainer_expected.npz')
    x, ids, t = (device.send(expected[name]) for name in ('x', 'ids', 't'))
    optimizer.update(model, x, ids, t)
    for key, value in _params(model).items():
        numpy.testing.assert_allclose(value, expected['third/' + key], err_msg=key, **TOL)


def test_dchain_writes_chainers_keys(tmp_path):
    model, optimizer = _build()
    expected = _arrays('chainer_expected.npz')
    for _ in range(2):
        optimizer.update(model, expected['x'], expected['ids'], expected['t'])
    for ours, theirs in ((model, 'chainer_model.npz'), (optimizer, 'chainer_adam.npz')):
        serializers.save_npz(str(tmp_path / theirs), ours)
        mine, chainers = _arrays(str(tmp_path / theirs)), _arrays(theirs)
        assert sorted(mine) == sorted(chainers)
        assert {key: (value.shape, value.dtype) for key, value in mine.items()} == \
            {key: (value.shape, value.dtype) for key, value in chainers.items()}
    serializers.save_hdf5(str(tmp_path / 'model.h5'), model)
    assert _hdf5_datasets(str(tmp_path / 'model.h5')) == \
        _hdf5_datasets(_fixture('chainer_model.h5'))


@pytest.mark.parametrize('name, load', [('chainer_lazy.npz', serializers.load_npz),
                                        ('chainer_lazy.h5', serializers.load_hdf5)])
def test_chainer_saved_none(tmp_path, name, load):
    def lazy():
        chain = dchain.Chain()
        with chain.init_scope():
            chain.l = L.Linear(None, 3)  # noqa: E741 (the fixture's key is 'l/W')
        return chain

    chain = lazy()
    chain.l.b.data[...] = 5
    load(_fixture(name), chain)
    assert chain.l.W.data is None
    numpy.testing.assert_array_equal(chain.l.b.data, numpy.zeros(3, numpy.float32))
    suffix = os.path.splitext(name)[1]
    save = serializers.save_npz if suffix == '.npz' else serializers.save_hdf5
    save(str(tmp_path / name), lazy())
    if suffix == '.npz':
        with numpy.load(str(tmp_path / name), allow_pickle=True) as mine, \
                numpy.load(_fixture(name), allow_pickle=True) as chainers:
            assert sorted(mine.files) == sorted(chainers.files) == ['l/W', 'l/b']
            assert mine['l/W'].dtype == chainers['l/W'].dtype == object
            assert mine['l/W'][()] is chainers['l/W'][()] is None
    else:
        assert _hdf5_datasets(str(tmp_path / name)) == _hdf5_datasets(_fixture(name))


def test_model_and_optimizer_out_of_a_chainer_trainer_snapshot():
    model, optimizer = _build()
    serializers.load_npz(_fixture('chainer_snapshot.npz'), model, path='updater/model:main/')
    serializers.load_npz(_fixture('chainer_snapshot.npz'), optimizer,
                         path='updater/optimizer:main/')
    saved = _arrays('chainer_snapshot.npz')
    for key, value in _params(model).items():
        numpy.testing.assert_array_equal(value, saved['updater/model:main/' + key])
    assert optimizer.t == 1
    numpy.testing.assert_array_equal(
        model.predictor.fc.W.update_rule.state['m'],
        saved['updater/optimizer:main/predictor/fc/W/m'])


def write_dchain_files(directory):
    """dchain's files for Chainer to load: the Chainer model after one more dchain update,
    with dchain's outputs and the parameters after another update."""
    model, optimizer = _build()
    serializers.load_npz(_fixture('chainer_model.npz'), model)
    serializers.load_npz(_fixture('chainer_adam.npz'), optimizer)
    inputs = _arrays('chainer_expected.npz')
    x, ids, t = inputs['x'], inputs['ids'], inputs['t']
    optimizer.update(model, x, ids, t)
    serializers.save_npz(os.path.join(directory, 'dchain_model.npz'), model)
    serializers.save_hdf5(os.path.join(directory, 'dchain_model.h5'), model)
    serializers.save_npz(os.path.join(directory, 'dchain_adam.npz'), optimizer)
    y_test, loss_train = _outputs(model, inputs)
    optimizer.update(model, x, ids, t)
    expected = {'x': x, 'ids': ids, 't': t, 'y_test': y_test, 'loss_train': loss_train}
    expected.update({'third/' + key: value for key, value in _params(model).items()})
    numpy.savez(os.path.join(directory, 'dchain_expected.npz'), **expected)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get('CHAINER_PYTHON'),
                    reason='set CHAINER_PYTHON to a Python with Chainer 7.8.1 to run Chainer')
def test_chainer_loads_dchain_files(tmp_path):
    write_dchain_files(str(tmp_path))
    result = subprocess.run([os.environ['CHAINER_PYTHON'], SCRIPT, '--check', str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=300)
    sys.stdout.write(result.stdout)
    assert result.returncode == 0, result.stdout
    assert result.stdout.count('equal') == 3
