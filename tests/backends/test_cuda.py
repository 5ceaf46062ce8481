"""``dchain.backends.cuda`` / ``dchain.cuda``: Chainer's CuPy helpers, usable without CuPy."""
import subprocess
import sys

import numpy
import pytest

import dchain
from dchain.backends import cuda

from conftest import GPU


def test_aliases():
    assert dchain.cuda is cuda
    assert dchain.backend.cuda is cuda
    assert dchain.backends.cuda is cuda


@pytest.mark.slow
def test_import_does_not_load_cupy():
    code = 'import sys, dchain; dchain.cuda.to_cpu(None); print("cupy" in sys.modules)'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.stdout.strip() == 'False', out.stderr


def test_host_arrays():
    x = numpy.arange(3)
    assert cuda.to_cpu(x) is x
    assert cuda.to_cpu(None) is None
    assert cuda.get_array_module(x) is numpy
    assert cuda.get_array_module(dchain.Variable(x.astype('f'))) is numpy
    assert cuda.get_device_from_array(x) is cuda.DummyDevice
    with cuda.get_device_from_id(-1) as device:
        device.use()
    assert int(cuda.DummyDevice) == -1
    assert cuda.cudnn_enabled is False
    assert cuda.available == GPU
    assert (numpy is not cuda.cupy) and (cuda.cupy is cuda.cupy)


def test_bad_device_id():
    with pytest.raises(TypeError, match='get_device_from_id: device_id must be an int'):
        cuda.get_device_from_id('0')


@pytest.mark.skipif(GPU, reason='checks the message when no GPU is usable')
def test_gpu_helpers_say_what_is_missing_without_cupy():
    with pytest.raises(RuntimeError, match='CuPy'):
        cuda.to_gpu(numpy.zeros(2))
    with pytest.raises(RuntimeError, match='CuPy'):
        cuda.check_cuda_available()


@pytest.mark.gpu
def test_gpu_round_trip():
    import cupy
    x = numpy.arange(6, dtype=numpy.float32)
    y = cuda.to_gpu(x, 0)
    assert isinstance(y, cupy.ndarray) and isinstance(y, cuda.ndarray)
    assert cuda.cupy is cupy and cuda.available
    assert cuda.get_device_from_array(y).id == 0
    assert cuda.get_device_from_id(0).id == 0
    assert (cuda.to_cpu(cuda.copy(y)) == x).all()
    with dchain.using_device('@cupy:0'):
        assert cupy.cuda.Device().id == 0


def test_using_device_on_the_host():
    with dchain.using_device('@numpy'):
        pass
    with dchain.using_device(-1):
        pass
    with pytest.raises(ValueError, match='get_device'):
        dchain.using_device('@tpu')


def test_dchain_cuda_is_an_importable_module():
    # Chainer programs write ``import chainer.cuda`` / ``from chainer.cuda import to_cpu``.
    import importlib
    module = importlib.import_module('dchain.cuda')
    assert module is dchain.backends.cuda
    from dchain.cuda import to_cpu
    assert to_cpu is dchain.backends.cuda.to_cpu


def test_backend_copyto(xp):
    dst = xp.zeros(3, numpy.float32)
    dchain.backend.copyto(dst, numpy.arange(3, dtype=numpy.float32))
    assert (dchain.backend.to_cpu(dst) == [0, 1, 2]).all()
    host = numpy.zeros(3, numpy.float32)
    dchain.backend.copyto(host, xp.ones(3, numpy.float32))
    assert (host == 1).all()
    with pytest.raises(TypeError, match='copyto: dst must be a numpy.ndarray'):
        dchain.backend.copyto([0, 0], host)
