"""Run-time configuration: ``config``, ``global_config`` and the context managers over them.

``config`` is thread-local; an attribute not set in the current thread falls back to
``global_config``, as in Chainer. The keys every part of dchain reads:

- ``train`` (True): links like dropout and batch normalization behave as in training.
- ``enable_backprop`` (True): functions record the graph for backward.
- ``type_check`` (True): functions check their inputs' types and shapes.
- ``debug`` (False): extra checks (NaN detection in backward).
"""
import contextlib
import threading


class GlobalConfig:
    """Process-wide defaults read by ``config`` when a thread has not overridden them."""

    def __init__(self):
        self.train = True
        self.enable_backprop = True
        self.type_check = True
        self.debug = False
        self.dtype = None

    def show(self, file=None):
        """Print every key and its value."""
        for key in sorted(vars(self)):
            print('{:<16} {}'.format(key, getattr(self, key)), file=file)


class LocalConfig(threading.local):
    """Thread-local view over a ``GlobalConfig``: reads fall back, writes stay local."""

    def __init__(self, global_config):
        super().__setattr__('_global', global_config)

    def __getattr__(self, name):
        # Only called when the thread has no value of its own.
        return getattr(self._global, name)

    def __delattr__(self, name):
        try:
            super().__delattr__(name)
        except AttributeError:
            pass

    def show(self, file=None):
        """Print every key and its value as seen from this thread."""
        names = set(vars(self._global)) | {k for k in vars(self) if not k.startswith('_')}
        for key in sorted(names):
            print('{:<16} {}'.format(key, getattr(self, key)), file=file)


global_config = GlobalConfig()
config = LocalConfig(global_config)

_UNSET = object()


@contextlib.contextmanager
def using_config(name, value, config=config):
    """Set ``config.<name>`` to ``value`` inside a ``with`` block and restore it after."""
    old = config.__dict__.get(name, _UNSET)
    setattr(config, name, value)
    try:
        yield
    finally:
        if old is _UNSET:
            delattr(config, name)
        else:
            setattr(config, name, old)


def no_backprop_mode():
    """``with no_backprop_mode():`` runs functions without recording the graph."""
    return using_config('enable_backprop', False)


def force_backprop_mode():
    """``with force_backprop_mode():`` records the graph even inside ``no_backprop_mode``."""
    return using_config('enable_backprop', True)
