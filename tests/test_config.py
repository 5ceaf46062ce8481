import threading

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
