"""Sizes, axes and counts computed with NumPy (numpy.int32, numpy.int64, numpy.float32) are
accepted wherever a Python int or float is, as in Chainer."""
import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import training

I32, I64 = numpy.int32, numpy.int64


@pytest.mark.parametrize('integer', [I32, I64])
def test_links_take_numpy_sizes(integer):
    embed = L.EmbedID(integer(100), integer(8), ignore_label=integer(-1))
    assert embed.W.shape == (100, 8) and type(embed.in_size) is int
    y = embed(numpy.array([1, -1], numpy.int32))
    assert y.shape == (2, 8) and not y.array[1].any()
    assert L.Linear(integer(4), integer(3))(numpy.ones((2, 4), 'f')).shape == (2, 3)
    assert L.Linear(integer(3))(numpy.ones((2, 4), 'f')).shape == (2, 3)
    conv = L.Convolution2D(integer(1), integer(2), integer(3), stride=integer(1),
                           pad=integer(1), groups=integer(1))
    assert conv(numpy.ones((1, 1, 4, 4), 'f')).shape == (1, 2, 4, 4)
    bn = L.BatchNormalization(integer(3), axis=integer(0))
    assert bn(numpy.ones((4, 3), 'f')).shape == (4, 3)


@pytest.mark.parametrize('integer', [I32, I64])
def test_functions_take_numpy_axes_and_shapes(integer):
    x = dchain.Variable(numpy.arange(6, dtype='f').reshape(2, 3))
    assert F.reshape(x, (integer(3), integer(2))).shape == (3, 2)
    assert F.reshape(x, integer(6)).shape == (6,)
    assert F.sum(x, axis=integer(1)).shape == (2,)
    assert x[integer(1)].shape == (3,)
    assert F.dropout(x, numpy.float32(0.5)).shape == (2, 3)


def test_triggers_and_extensions_take_numpy_numbers():
    trigger = training.triggers.IntervalTrigger(I64(2), 'iteration')
    assert trigger.period == 2
    training.triggers.ManualScheduleTrigger([I64(1), I32(3)], 'epoch')
    training.extensions.ProgressBar(update_interval=I64(5))
