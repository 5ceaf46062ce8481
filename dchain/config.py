"""Run-time configuration: ``config``, ``global_config`` and the context managers over them.

``config`` is thread-local; an attribute not set in the current thread falls back to
``global_config``, as in Chainer. The keys every part of dchain reads:

- ``train`` (True): links like dropout and batch normalization behave as in training.
- ``enable_backprop`` (True): functions record the graph for backward.
- ``type_check`` (True): functions check their inputs' types and shapes.
- ``debug`` (False): extra checks (NaN detection in backward).
- ``keep_graph_on_report`` (False): ``report`` keeps a reported Variable with its graph
  (``extensions.DumpGraph`` turns it on until it has drawn the graph).
"""
import contextlib
import threading


class GlobalConfig:
    """Process-wide defaults read by ``config`` when a thread has not overridden them."""

    def __init__(self):
        object.__setattr__(self, '_locals', [])  # the instance dicts of each thread's config
        self.train = True
        self.enable_backprop = True
        self.type_check = True
        self.debug = False
        self.keep_graph_on_report = False
        self.dtype = None

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        for local in self._locals:
            if name not in local['_overridden']:
                local[name] = value

    def show(self, file=None):
        """Print every key and its value."""
        for key in sorted(k for k in vars(self) if not k.startswith('_')):
            print('{:<16} {}'.format(key, getattr(self, key)), file=file)


class LocalConfig(threading.local):
    """Thread-local view over a ``GlobalConfig``: reads fall back, writes stay local.

    Every op reads ``config.enable_backprop`` and ``config.type_check``, so each thread keeps
    its own copy of the global values in its instance dict (a C-speed lookup) and the global
    config pushes later changes into every thread's copy that the thread has not overridden.
    """

    def __init__(self, global_config):
        d = self.__dict__
        d['_global'] = global_config
        d['_overridden'] = set()
        d.update(vars(global_config))
        global_config._locals.append(d)

    def __getattr__(self, name):
        return getattr(self._global, name)

    def __setattr__(self, name, value):
        d = self.__dict__
        d[name] = value
        d['_overridden'].add(name)

    def __delattr__(self, name):
        d = self.__dict__
        d['_overridden'].discard(name)
        glob = vars(d['_global'])
        if name in glob:
            d[name] = glob[name]
        else:
            d.pop(name, None)

    def show(self, file=None):
        """Print every key and its value as seen from this thread."""
        names = {k for k in self.__dict__ if not k.startswith('_')}
        for key in sorted(names):
            print('{:<16} {}'.format(key, getattr(self, key)), file=file)


global_config = GlobalConfig()
config = LocalConfig(global_config)

_UNSET = object()


@contextlib.contextmanager
def using_config(name, value, config=config):
    """Set ``config.<name>`` to ``value`` inside a ``with`` block and restore it after."""
    d = config.__dict__
    old = d[name] if name in d.get('_overridden', d) else _UNSET
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
