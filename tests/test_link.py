import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import Chain, ChainList, Link, Parameter, Sequential, initializers
from dchain.testing import assert_allclose


class DictSerializer:
    """Saves into a flat dict with keys like 'predictor/l1/W' (Chainer's layout)."""

    def __init__(self, target=None, path=''):
        self.target = {} if target is None else target
        self.path = path

    def __getitem__(self, name):
        return DictSerializer(self.target, self.path + name + '/')

    def __call__(self, key, value):
        self.target[self.path + key] = None if value is None else numpy.array(value)
        return value


class DictDeserializer:
    """Loads from such a dict: arrays in place, other values returned."""

    def __init__(self, source, path=''):
        self.source = source
        self.path = path

    def __getitem__(self, name):
        return DictDeserializer(self.source, self.path + name + '/')

    def __call__(self, key, value):
        loaded = self.source[self.path + key]
        if value is None:
            return loaded
        if isinstance(value, numpy.ndarray):
            value[...] = loaded
            return value
        return type(value)(loaded)


class MLP(Chain):
    def __init__(self, n_in=3, n_hidden=4, n_out=2):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(n_in, n_hidden)
            self.l2 = L.Linear(n_hidden, n_out)
        self.helper = L.Linear(2, 2)  # outside init_scope: not a child

    def forward(self, x):
        return self.l2(F.exp(self.l1(x)))


class Counter(Link):
    """A link with a parameter and persistent values of several kinds."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.w = Parameter(initializers.Constant(2.0), (3,))
        self.add_persistent('count', 0)
        self.add_persistent('mean', numpy.zeros(3, numpy.float32))
        self.plain = Parameter(initializers.One(), (2,))  # outside init_scope


def _paths(link):
    return sorted(path for path, _ in link.namedparams())


def _model():
    dchain.random.seed(0)
    return Chain(predictor=MLP())


def test_init_scope_registers_parameters_only_inside():
    link = Counter()
    assert _paths(link) == ['/w']
    assert link.w.name == 'w'
    assert isinstance(link.plain, Parameter)
    assert not link.within_init_scope
    with link.init_scope():
        assert link.within_init_scope
        link.v = Parameter(initializers.Zero(), (2, 2))
    assert _paths(link) == ['/v', '/w']
    del link.v
    assert _paths(link) == ['/w']


def test_init_scope_registers_child_links():
    model = MLP()
    assert [name for name, _ in model.namedlinks(skipself=True)] == ['/l1', '/l2']
    assert model.l1.name == 'l1'
    assert list(model.children()) == [model.l1, model.l2]
    assert model['l2'] is model.l2
    assert model.helper not in list(model.links())


def test_keyword_chain_and_nested_paths():
    model = _model()
    assert _paths(model) == ['/predictor/l1/W', '/predictor/l1/b', '/predictor/l2/W',
                             '/predictor/l2/b']
    assert [path for path, _ in model.namedlinks()] == ['/', '/predictor', '/predictor/l1',
                                                        '/predictor/l2']
    assert [path for path, _ in model.namedlinks(skipself=True)][0] == '/predictor'
    assert list(model.links())[0] is model
    assert list(model.children()) == [model.predictor]
    params = list(model.params())
    assert params[0] is model.predictor.l1.W and len(params) == 4


def test_uninitialized_parameters_and_count_params():
    model = Chain(l1=L.Linear(None, 5), l2=L.Linear(5, 2))
    assert model.count_params() == 5 * 2 + 2 + 5  # l1/W is not initialized yet
    assert _paths(model) == ['/l1/W', '/l1/b', '/l2/W', '/l2/b']
    assert sorted(p for p, _ in model.namedparams(include_uninit=False)) == [
        '/l1/b', '/l2/W', '/l2/b']
    model.l1(numpy.ones((2, 7), numpy.float32))
    assert model.l1.W.shape == (5, 7)
    assert model.count_params() == 5 * 7 + 5 + 5 * 2 + 2


def test_add_param_add_persistent_register_persistent():
    link = Link()
    link.add_param('w', (2, 3))
    assert link.w.dtype == numpy.float32
    assert numpy.isnan(link.w.data).all()  # NaN until set, as in Chainer
    link.add_param('v', (4,), dtype=numpy.float64, initializer=initializers.One())
    assert link.v.dtype == numpy.float64 and (link.v.data == 1).all()
    link.add_param('lazy')
    assert link.lazy.data is None
    assert _paths(link) == ['/lazy', '/v', '/w']
    link.add_persistent('step', 3)
    link.counter = 5
    link.register_persistent('counter')
    link.register_persistent('counter')  # twice is harmless
    assert link._persistent == ['step', 'counter']


def test_link_keyword_shapes():
    link = Link(w=(2, 3), b=None)
    assert link.w.shape == (2, 3)
    assert link.b.data is None


def test_registration_errors():
    link = Counter()
    with pytest.raises(AttributeError, match="Counter.add_param: the attribute 'w' already"):
        link.add_param('w', (2,))
    with pytest.raises(AttributeError, match="add_persistent: the attribute 'count' already"):
        link.add_persistent('count', 1)
    with pytest.raises(AttributeError, match="register_persistent: no attribute 'missing'"):
        link.register_persistent('missing')
    model = MLP()
    with pytest.raises(TypeError, match="MLP.add_link: 'x' must be a Link, got int"):
        model.add_link('x', 3)
    with pytest.raises(AttributeError, match="MLP.add_link: the attribute 'l1' already"):
        model.add_link('l1', L.Linear(2, 2))
    with pytest.raises(TypeError, match='ChainList: add child links with append'):
        chain_list = ChainList()
        with chain_list.init_scope():
            chain_list.child = L.Linear(2, 2)
    with pytest.raises(TypeError, match='ChainList.add_link: expected a Link, got str'):
        ChainList('a')
    with pytest.raises(TypeError, match='Sequential.append: a layer must be a Link or a '
                                        'callable, got int'):
        Sequential(L.Linear(2, 2), 3)
    with pytest.raises(NotImplementedError, match='Link defines neither forward nor __call__'):
        Link()(numpy.ones(2))


def test_registering_before_super_init_is_refused():
    class Early(Link):
        def __init__(self):
            with self.init_scope():
                self.w = Parameter(initializers.One(), (2,))

    with pytest.raises(RuntimeError, match=r'Early: call super\(\).__init__\(\) before'):
        Early()


def _loss(model, x):
    return F.sum(model.predictor(x))


def test_cleargrads_zerograds_addgrads():
    model = _model()
    x = numpy.random.default_rng(0).uniform(-1, 1, (5, 3)).astype(numpy.float32)
    _loss(model, x).backward()
    grads = {path: p.grad.copy() for path, p in model.namedparams()}
    assert all(g is not None and numpy.abs(g).sum() > 0 for g in grads.values())
    model.cleargrads()
    assert all(p.grad is None for p in model.params())
    model.zerograds()
    assert all(p.grad is not None and (p.grad == 0).all() for p in model.params())
    model.cleargrads()
    other = model.copy('copy')
    other.cleargrads()
    _loss(model, x).backward()
    _loss(other, x).backward()
    _loss(other, x).backward()  # other accumulates two passes
    model.addgrads(other)
    for path, p in model.namedparams():
        assert_allclose(p.grad, 3 * grads[path], rtol=1e-5, atol=1e-6)


def test_copyparams_copies_values_and_persistents():
    source, target = Counter(), Counter()
    source.w.data[...] = [1, 2, 3]
    source.count = 7
    source.mean[...] = 5
    w_array = target.w.data
    target.copyparams(source)
    assert target.w.data is w_array  # in place
    assert (target.w.data == [1, 2, 3]).all()
    assert target.count == 7 and (target.mean == 5).all()
    assert target.mean is not source.mean
    target.count = 0
    target.copyparams(source, copy_persistent=False)
    assert target.count == 0


def test_copyparams_refuses_other_architectures():
    with pytest.raises(ValueError, match='copyparams: the source link has no parameter /l2/W'):
        Chain(l2=L.Linear(2, 2)).copyparams(Chain(l1=L.Linear(2, 2)))


@pytest.mark.parametrize('mode', ['share', 'copy', 'init'])
def test_copy_modes(mode):
    model = _model()
    model.predictor.l1.W.grad = numpy.ones((4, 3), numpy.float32)
    clone = model.copy(mode)
    assert _paths(clone) == _paths(model)
    assert clone.predictor is not model.predictor
    assert clone.predictor.l1 is not model.predictor.l1
    assert clone.predictor.l1.name == 'l1' and clone.name is None
    for (_, mine), (_, theirs) in zip(model.namedparams(), clone.namedparams()):
        assert mine is not theirs
        assert theirs.grad is None
        assert (theirs.data is mine.data) == (mode == 'share')
        if mode == 'copy':
            assert (theirs.data == mine.data).all()
    weight = clone.predictor.l1.W.data
    if mode == 'init':  # re-drawn from LeCunNormal: same shape, other values
        assert weight.shape == (4, 3) and not (weight == model.predictor.l1.W.data).all()
    # Training the clone changes the original only when arrays are shared.
    before = model.predictor.l1.W.data.copy()
    clone.predictor.l1.W.data[...] += 1
    assert ((model.predictor.l1.W.data != before).all()) == (mode == 'share')


def test_copy_persistents_and_bad_mode():
    link = Counter()
    shared, copied = link.copy('share'), link.copy('copy')
    link.mean[...] = 4
    assert (shared.mean == 4).all() and (copied.mean == 0).all()
    with pytest.raises(ValueError, match="Link.copy: mode must be 'share', 'copy' or 'init', "
                                         "got 'deep'"):
        link.copy('deep')


def test_enable_disable_update():
    model = _model()
    assert model.update_enabled
    model.predictor.l1.disable_update()
    assert not model.update_enabled and model.predictor.l2.update_enabled
    assert not model.predictor.l1.update_enabled
    model.enable_update()
    assert model.update_enabled


def test_chain_list():
    layers = ChainList(L.Linear(3, 4), L.Linear(4, 2))
    layers.append(L.Linear(2, 1))
    assert len(layers) == 3 and layers[2].name == '2'
    assert _paths(layers) == ['/0/W', '/0/b', '/1/W', '/1/b', '/2/W', '/2/b']
    assert [link.name for link in layers] == ['0', '1', '2']
    assert list(layers.children()) == list(layers)
    nested = Chain(body=layers)
    assert '/body/1/W' in _paths(nested)
    clone = layers.copy('copy')
    assert [link.name for link in clone] == ['0', '1', '2']
    assert clone[0].W.data is not layers[0].W.data


def test_sequential_with_plain_functions():
    dchain.random.seed(1)
    model = Sequential(L.Linear(3, 4), F.exp, L.Linear(4, 2), lambda h: h * 2)
    assert len(model) == 4 and model[1] is F.exp
    assert _paths(model) == ['/0/W', '/0/b', '/1/W', '/1/b']
    x = numpy.random.default_rng(0).uniform(-1, 1, (5, 3)).astype(numpy.float32)
    first, second = model[0], model[2]
    hidden = numpy.exp(x @ first.W.data.T + first.b.data)
    expected = 2 * (hidden @ second.W.data.T + second.b.data)
    y = model(x)
    assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    F.sum(y).backward()
    assert first.W.grad is not None and first.W.grad.shape == (4, 3)
    clone = model.copy('copy')
    assert clone[1] is F.exp and clone[0] is not first
    assert_allclose(clone(x), expected, rtol=1e-5, atol=1e-6)


def test_serialize_round_trip_with_chainer_keys():
    model = _model()
    counter = Counter()
    counter.count = 11
    counter.mean[...] = [1, 2, 3]
    model.add_link('counter', counter)
    saved = {}
    model.serialize(DictSerializer(saved))
    assert sorted(saved) == ['counter/count', 'counter/mean', 'counter/w', 'predictor/l1/W',
                             'predictor/l1/b', 'predictor/l2/W', 'predictor/l2/b']
    dchain.random.seed(5)
    fresh = Chain(predictor=MLP())
    fresh.add_link('counter', Counter())
    array = fresh.predictor.l1.W.data
    fresh.serialize(DictDeserializer(saved))
    assert fresh.predictor.l1.W.data is array  # loaded in place
    for (path, mine), (_, theirs) in zip(model.namedparams(), fresh.namedparams()):
        assert (mine.data == theirs.data).all(), path
    assert fresh.counter.count == 11 and (fresh.counter.mean == [1, 2, 3]).all()


def test_serialize_initializes_lazy_parameters():
    model = Chain(l1=L.Linear(3, 2))
    saved = {}
    model.serialize(DictSerializer(saved))
    lazy = Chain(l1=L.Linear(None, 2))
    assert lazy.l1.W.data is None
    lazy.serialize(DictDeserializer(saved))
    assert lazy.l1.W.shape == (2, 3)
    assert (lazy.l1.W.data == model.l1.W.data).all()


def test_to_device_numpy():
    model = _model()
    model.add_link('counter', Counter())
    assert model.to_device('@numpy') is model
    assert model.device == dchain.get_device('@numpy')
    assert model.xp is numpy
    assert all(link.device.name == '@numpy' for link in model.links())
    assert all(isinstance(p.data, numpy.ndarray) for p in model.params())
    assert isinstance(model.counter.mean, numpy.ndarray)
    assert model.to_cpu() is model
    with pytest.raises(ValueError, match="get_device: spec must be '@numpy', '@cupy:N'"):
        model.to_device('@tpu')


@pytest.mark.gpu
def test_to_device_gpu_and_back():
    import cupy
    model = _model()
    model.add_link('counter', Counter())
    model.to_device('@cupy:0')
    assert model.xp is cupy
    assert all(isinstance(p.data, cupy.ndarray) for p in model.params())
    assert isinstance(model.counter.mean, cupy.ndarray)
    lazy = Chain(l1=L.Linear(None, 2)).to_device('@cupy:0')
    lazy.l1(cupy.ones((2, 3), numpy.float32))
    assert isinstance(lazy.l1.W.data, cupy.ndarray)
    model.to_device('@numpy')
    assert all(isinstance(p.data, numpy.ndarray) for p in model.params())


def test_repr_names_the_class():
    assert repr(MLP()) == 'MLP()'


@pytest.mark.parametrize('mode', ['init', 'copy', 'share'])
def test_repeat(mode):
    import dchain.functions as F
    block = dchain.Sequential(L.Linear(3, 3), F.relu)
    model = block.repeat(3, mode)
    assert isinstance(model, dchain.Sequential) and len(model) == 3
    assert len(model[0]) == 2 and model[0][1] is F.relu
    first, second = model[0][0].W, model[1][0].W
    assert first is not block[0].W
    if mode == 'init':
        assert not numpy.array_equal(first.array, second.array)
    else:
        assert numpy.array_equal(first.array, block[0].W.array)
    assert (first.array is block[0].W.array) == (mode == 'share')
    assert len(list(model.params())) == 6
    assert model(numpy.ones((2, 3), numpy.float32)).shape == (2, 3)
    assert len(block.repeat(0)) == 0
    with pytest.raises(ValueError, match="Sequential.repeat: mode must be"):
        block.repeat(2, 'deep')
    with pytest.raises(TypeError, match='n_repeat must be an int'):
        block.repeat(2.0)
    assert len(L.Linear(2, 2).repeat(numpy.int64(2))) == 2
