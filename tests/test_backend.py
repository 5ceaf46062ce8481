import subprocess
import sys

import numpy
import pytest

from dchain import backend


def test_get_array_module_numpy():
    assert backend.get_array_module(numpy.ones(2)) is numpy
    assert backend.get_array_module() is numpy


def test_cpu_device():
    device = backend.get_device('@numpy')
    assert device is backend.get_device(-1) is backend.get_device(None)
    assert device.xp is numpy
    device.use()
    x = device.send(numpy.ones(2))
    assert isinstance(x, numpy.ndarray)
    assert str(device) == '@numpy'


@pytest.mark.parametrize('spec,error,message', [
    ('@cupy:x', ValueError, "get_device: spec must be '@numpy', '@cupy:N', -1 or a GPU id, "
                            "got '@cupy:x'"),
    ('gpu', ValueError, 'got \'gpu\''),
    (1.5, TypeError, 'get_device: spec must be a str, int or Device, got float'),
])
def test_bad_device_spec(spec, error, message):
    with pytest.raises(error, match=message):
        backend.get_device(spec)


def test_to_cpu_passes_host_arrays():
    x = numpy.ones(2)
    assert backend.to_cpu(x) is x
    assert backend.to_cpu(None) is None
    assert backend.to_cpu([x, None])[0] is x


@pytest.mark.slow
def test_gpu_request_without_cupy_says_how_to_install():
    code = ('import sys; sys.modules["cupy"] = None\n'
            'import dchain\n'
            'try:\n'
            '    dchain.get_device("@cupy:0")\n'
            'except RuntimeError as e:\n'
            '    print(e)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout
    assert 'CuPy' in out and 'pip install' in out and 'cupy-cuda12x' in out


@pytest.mark.slow
def test_import_touches_neither_cupy_nor_mpi4py():
    code = ('import sys, dchain, dchain.links, dchain.functions\n'
            'print("cupy" in sys.modules, "mpi4py" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ['False', 'False']


@pytest.mark.gpu
def test_gpu_device_round_trip():
    import cupy
    device = backend.get_device('@cupy:0')
    assert device is not None and device.xp is cupy
    assert backend.get_device(0) == device
    x = device.send(numpy.arange(3.0))
    assert isinstance(x, cupy.ndarray)
    assert backend.get_array_module(x) is cupy
    assert backend.to_cpu(x).tolist() == [0.0, 1.0, 2.0]
    assert isinstance(backend.to_gpu(numpy.ones(2)), cupy.ndarray)
    assert backend.is_available()


def test_chainerx_device_is_a_type_no_device_has():
    # Chainer's programs ask isinstance(device, backend.ChainerxDevice) before ChainerX-only
    # steps: the answer is False on every dchain device, and none can be made.
    assert not isinstance(backend.get_device('@numpy'), backend.ChainerxDevice)
    with pytest.raises(RuntimeError, match='ChainerxDevice: dchain has no ChainerX'):
        backend.ChainerxDevice()
