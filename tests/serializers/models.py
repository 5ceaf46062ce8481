"""Models, helpers and file formats shared by the serializer tests."""
import numpy

import dchain
import dchain.links as L
from dchain import serializers


class Block(dchain.Link):
    """A link with one parameter of a chosen shape and dtype and a persistent of each kind."""

    def __init__(self, shape=(4, 3), dtype=numpy.float32):
        super().__init__()
        self.add_param('W', shape, dtype=dtype, initializer=0)
        self.add_persistent('count', 0)
        self.add_persistent('rate', 0.5)
        self.add_persistent('flag', False)
        self.add_persistent('label', 'none')
        self.add_persistent('step', numpy.int32(0))
        self.add_persistent('stats', numpy.zeros(2, dtype))
        self.add_persistent('maybe', None)


class Net(dchain.Chain):
    """Two Linear layers (the second sized lazily) and a Block: 'l1/W', 'l2/b', 'block/count'..."""

    def __init__(self, shape=(4, 3), dtype=numpy.float32):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(3, 4)
            self.l2 = L.Linear(None, 2)
            self.block = Block(shape, dtype)


def fill(net, rng):
    """Give every initialized array of ``net`` distinct random values and set the persistents."""
    for _, param in net.namedparams(include_uninit=False):
        param.data[...] = param.device.send(rng.uniform(-1, 1, param.shape).astype(param.dtype))
    block = net.block
    block.count, block.rate, block.flag, block.label = 7, 0.25, True, 'trained'
    block.step = numpy.int32(11)
    block.stats[...] = block.device.send(numpy.array([1.5, -2.5], block.stats.dtype))
    return net


def state(net):
    """Everything a load may change, as host values: {key: value}."""
    values = {path: None if p.data is None else dchain.backend.to_cpu(p.data).copy()
              for path, p in net.namedparams()}
    block = net.block
    for name in block._persistent:
        value = getattr(block, name)
        values['block/' + name] = numpy.array(dchain.backend.to_cpu(value), copy=True) \
            if hasattr(value, 'shape') else value
    return values


def assert_same_state(actual, expected):
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, numpy.ndarray):
            assert isinstance(actual[key], numpy.ndarray), key
            assert actual[key].dtype == value.dtype, key
            numpy.testing.assert_array_equal(actual[key], value, err_msg=key)
        else:
            assert type(actual[key]) is type(value) and actual[key] == value, key


FORMATS = {
    'npz': (serializers.save_npz, serializers.load_npz, 'model.npz'),
    'hdf5': (serializers.save_hdf5, serializers.load_hdf5, 'model.h5'),
}
