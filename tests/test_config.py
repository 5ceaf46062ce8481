import copy
import os
import subprocess
import sys

import threading

import numpy
import pytest

import dchain
from dchain.config import config, global_config, using_config


def test_defaults():
    assert config.train is True
    assert config.enable_backprop is True
    assert config.type_check is True
    assert config.debug is False


def test_using_config_restores():
    with using_config('train', False):
        assert config.train is False
        with using_config('train', True):
            assert config.train is True
        assert config.train is False
    assert config.train is True


def test_using_config_restores_after_exception():
    try:
        with using_config('enable_backprop', False):
            raise RuntimeError
    except RuntimeError:
        pass
    assert config.enable_backprop is True


def test_global_config_reaches_threads_that_did_not_override():
    seen = {}
    try:
        global_config.debug = True
        assert config.debug is True
        with using_config('debug', False):
            global_config.debug = 'later'
            assert config.debug is False  # this thread's override wins
        assert config.debug == 'later'

        def read():
            seen['debug'] = config.debug
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
        assert seen['debug'] == 'later'
    finally:
        global_config.debug = False
    assert config.debug is False


def test_thread_local_override():
    seen = {}

    def read():
        seen['train'] = config.train
    with using_config('train', False):
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
    assert seen['train'] is True


def test_new_keys_and_show(capsys):
    config.my_key = 3
    assert config.my_key == 3
    del config.my_key
    dchain.config.show()
    assert 'train' in capsys.readouterr().out


def test_dtype_defaults_to_float32():
    assert config.dtype == numpy.dtype(numpy.float32)
    assert dchain.get_dtype() == numpy.dtype(numpy.float32)


def test_get_dtype_resolves_an_explicit_dtype():
    assert dchain.get_dtype('float64') == numpy.dtype(numpy.float64)
    with using_config('dtype', numpy.float16):
        assert dchain.get_dtype(numpy.float64) == numpy.dtype(numpy.float64)
        assert dchain.get_dtype() == numpy.dtype(numpy.float16)


def test_get_dtype_maps_mixed16():
    with using_config('dtype', dchain.mixed16):
        assert dchain.get_dtype() == numpy.dtype(numpy.float16)
        assert dchain.get_dtype(map_mixed16=numpy.float32) == numpy.dtype(numpy.float32)
        # an explicit dtype is not mapped
        assert dchain.get_dtype(numpy.float64, map_mixed16=numpy.float32) == numpy.float64
    assert repr(dchain.mixed16) == "dtype('mixed16')"
    assert copy.deepcopy(dchain.mixed16) is dchain.mixed16


def test_get_dtype_refuses_a_non_dtype():
    with pytest.raises(TypeError, match='get_dtype: dtype'):
        dchain.get_dtype(object())


@pytest.mark.slow
@pytest.mark.parametrize('name, expected', [('float64', numpy.float64), ('mixed16', 'mixed16')])
def test_dtype_from_environment(name, expected):
    code = 'import dchain; print(repr(dchain.config.dtype))'
    env = dict(os.environ, DCHAIN_DTYPE=name, PYTHONPATH=os.getcwd())
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert repr(numpy.dtype(expected) if expected != 'mixed16' else dchain.mixed16) \
        == out.stdout.strip()


@pytest.mark.slow
def test_dtype_from_environment_refuses_a_bad_name():
    env = dict(os.environ, DCHAIN_DTYPE='int8', PYTHONPATH=os.getcwd())
    out = subprocess.run([sys.executable, '-c', 'import dchain'], env=env, capture_output=True,
                         text=True)
    assert out.returncode != 0
    assert 'DCHAIN_DTYPE' in out.stderr


def test_configuration_module_is_chainers_name_for_config():
    from dchain import configuration
    assert configuration.config is config
    assert configuration.global_config is global_config
    with configuration.using_config('train', False):
        assert config.train is False
    assert config.train is True


def test_unset_dtype_means_float32():
    with using_config('dtype', None):
        assert dchain.get_dtype() == numpy.dtype(numpy.float32)


def test_set_debug_and_is_debug():
    assert dchain.is_debug() is False
    try:
        dchain.set_debug(True)
        assert dchain.is_debug() is True and global_config.debug is True
        x = dchain.Variable(numpy.array([0.0, 1.0], numpy.float32))
        with pytest.raises(FloatingPointError, match='NaN or inf'), \
                numpy.errstate(divide='ignore'):
            dchain.functions.sum(dchain.functions.log(x)).backward()
    finally:
        dchain.set_debug(False)
    assert dchain.is_debug() is False
