"""Shared fixtures: ``xp`` yields numpy, and cupy (marked gpu) where a GPU is present."""
import os

import numpy
import pytest

os.environ.setdefault('OMP_NUM_THREADS', '1')


def _gpu_available():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


GPU = _gpu_available()


def pytest_collection_modifyitems(config, items):
    if GPU:
        return
    skip = pytest.mark.skip(reason='no CUDA GPU with CuPy on this machine')
    for item in items:
        if 'gpu' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=['numpy', pytest.param('cupy', marks=pytest.mark.gpu)])
def xp(request):
    """The array module under test."""
    if request.param == 'numpy':
        return numpy
    import cupy
    return cupy


@pytest.fixture(params=['@numpy', pytest.param('@cupy:0', marks=pytest.mark.gpu)])
def device(request):
    """A dchain Device under test."""
    import dchain
    return dchain.get_device(request.param)


@pytest.fixture
def rng():
    """A seeded NumPy generator so tests are repeatable."""
    return numpy.random.default_rng(0)
