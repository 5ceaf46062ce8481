"""Chainer's static subgraph decorators, ``static_graph`` and ``static_code``.

Chainer can trace a ``@static_graph`` method once and replay the trace on later calls to
save Python overhead. dchain accepts both decorators so that such code ports unchanged, and
runs the decorated code define-by-run on every call: the results (outputs, gradients, side
effects of ``@static_code`` functions, which run on every call) are those of the undecorated
code, and a model may change its graph from call to call.
"""
import functools

_STATIC_GRAPH_OPTIONS = ('verbosity_level', 'enable_double_backprop', 'force_test_define_by_run',
                         'minimize_cache_size')


def _decorator(name, options, function, kwargs):
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        raise TypeError('{}: unexpected keyword argument(s) {}'.format(
            name, ', '.join(repr(k) for k in unknown)))

    def wrap(function):
        if not callable(function):
            raise TypeError('{}: decorates a function or method, got {}'.format(
                name, type(function).__name__))

        @functools.wraps(function)
        def wrapped(*args, **kw):
            return function(*args, **kw)
        wrapped.__static_graph__ = name == 'static_graph'
        return wrapped
    return wrap if function is None else wrap(function)


def static_graph(*args, **kwargs):
    """Mark a Chain's ``__call__``/``forward`` as a static subgraph (Chainer's decorator).

    Usable bare (``@static_graph``) or with Chainer's options (``verbosity_level``,
    ``enable_double_backprop``, ``force_test_define_by_run``, ``minimize_cache_size``),
    which are accepted and have no effect: dchain runs the method define-by-run on every
    call, with the same results as without the decorator.
    """
    if len(args) > 1 or (args and kwargs):
        raise TypeError('static_graph: use @static_graph or @static_graph(option=value, ...)')
    return _decorator('static_graph', _STATIC_GRAPH_OPTIONS, args[0] if args else None, kwargs)


def static_code(*args, **kwargs):
    """Mark side-effect code called from a ``@static_graph`` method (Chainer's decorator).

    dchain runs it on every call, as the undecorated function would run; the decorator has
    no other effect.
    """
    if len(args) > 1 or (args and kwargs):
        raise TypeError('static_code: use @static_code or @static_code()')
    return _decorator('static_code', (), args[0] if args else None, kwargs)
