"""Run-time configuration: ``config``, ``global_config`` and the context managers over them.

``config`` is thread-local; an attribute not set in the current thread falls back to
``global_config``, as in Chainer. The keys every part of dchain reads:

- ``train`` (True): links like dropout and batch normalization behave as in training.
- ``enable_backprop`` (True): functions record the graph for backward.
- ``type_check`` (True): functions check their inputs' types and shapes.
- ``debug`` (False): extra checks (NaN detection in backward).
- ``dtype`` (float32, or the ``DCHAIN_DTYPE`` environment variable: float16, float32, float64
  or mixed16): the default dtype of parameters and data, read through ``get_dtype``.
- ``keep_graph_on_report`` (False): ``report`` keeps a reported Variable with its graph
  (``extensions.DumpGraph`` turns it on until it has drawn the graph).
"""
import contextlib
import os
import threading

import numpy


class _Mixed16:
    """The dtype-like ``mixed16``: float16 activations and parameters, with float32 where
    precision matters (batch normalization statistics), as in Chainer."""

    dtype = numpy.dtype(numpy.float16)

    def __repr__(self):
        return "dtype('mixed16')"

    def __reduce__(self):
        return 'mixed16'


mixed16 = _Mixed16()
"""Dtype-like value of ``config.dtype`` for 16/32-bit mixed precision."""


def _dtype_from_environment():
    name = os.environ.get('DCHAIN_DTYPE', 'float32')
    if name in ('float16', 'float32', 'float64'):
        return numpy.dtype(name)
    if name == 'mixed16':
        return mixed16
    raise ValueError('dchain: the environment variable DCHAIN_DTYPE must be float16, float32, '
                     'float64 or mixed16, got {!r}'.format(name))


class GlobalConfig:
    """Process-wide defaults read by ``config`` when a thread has not overridden them."""

    def __init__(self):
        object.__setattr__(self, '_locals', [])  # the instance dicts of each thread's config
        self.train = True
        self.enable_backprop = True
        self.type_check = True
        self.debug = False
        self.dtype = _dtype_from_environment()
        self.keep_graph_on_report = False

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


def get_dtype(dtype=None, map_mixed16=None):
    """Resolve a dtype, defaulting to ``config.dtype``, as Chainer's ``get_dtype`` does.

    Args:
        dtype: a dtype specifier (``numpy.float16``, ``'float64'``, ``mixed16``...); None means
            ``config.dtype``.
        map_mixed16: the dtype to use in place of ``mixed16`` (e.g. float32 for statistics
            that need the precision); None maps ``mixed16`` to float16.
    Returns:
        numpy.dtype: the resolved dtype.
    """
    if dtype is None:
        dtype = config.dtype
        if dtype is None:  # unset: Chainer's default (numpy.dtype(None) would be float64)
            dtype = numpy.float32
    if dtype is mixed16 and map_mixed16 is not None:
        dtype = map_mixed16
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise TypeError('get_dtype: dtype must be a dtype specifier or mixed16, got {!r}'.format(
            dtype)) from None


def is_debug():
    """Whether debug mode is on (``config.debug``), as Chainer's ``is_debug``."""
    return bool(config.debug)


def set_debug(debug):
    """Turn debug mode (NaN and inf checks in backward) on or off for the whole process
    (``global_config.debug``), as Chainer's ``set_debug``."""
    global_config.debug = bool(debug)


def no_backprop_mode():
    """``with no_backprop_mode():`` runs functions without recording the graph."""
    return using_config('enable_backprop', False)


def force_backprop_mode():
    """``with force_backprop_mode():`` records the graph even inside ``no_backprop_mode``."""
    return using_config('enable_backprop', True)
