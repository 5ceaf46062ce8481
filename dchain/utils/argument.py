"""Chainer's ``chainer.utils.argument``: keyword arguments taken out of ``**kwargs``."""


def check_unexpected_kwargs(kwargs, **unexpected):
    """Raise ValueError for any key of ``unexpected`` found in ``kwargs``; the value is the
    message (e.g. ``train='use with dchain.using_config("train", ...)'``)."""
    for key, message in unexpected.items():
        if key in kwargs:
            raise ValueError(message)


def parse_kwargs(kwargs, *name_and_values, **unexpected):
    """Pop each ``(name, default)`` of ``name_and_values`` from ``kwargs``; return the values
    in that order (a tuple). Keys left over raise a TypeError naming them."""
    values = [kwargs.pop(name, default) for name, default in name_and_values]
    if kwargs:
        check_unexpected_kwargs(kwargs, **unexpected)
        assert_kwargs_empty(kwargs)
    return tuple(values)


def assert_kwargs_empty(kwargs):
    """Raise a TypeError naming the keyword arguments in ``kwargs``, if any."""
    if kwargs:
        names = ', '.join(repr(name) for name in sorted(kwargs))
        raise TypeError('got unexpected keyword argument(s) {}'.format(names))
