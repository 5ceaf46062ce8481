"""Converters: from a list of examples to batch arrays on a device."""
import functools
import operator

import numpy

from dchain import backend


class GatheredBatch(list):
    """A list of examples that also holds the batch arrays they were cut from (what
    ``TupleDataset[index_array]`` and friends return).

    ``concat_examples`` returns those arrays (moved to the device) instead of stacking the
    examples into new ones, as long as the list still holds exactly the examples it was made
    with; once an example is replaced, added or removed it stacks them as usual. The examples
    are views of the arrays, so writing into one shows in both.
    """

    __slots__ = ('_examples', '_arrays')

    def __init__(self, examples, arrays):
        super().__init__(examples)
        self._examples = examples  # the list made with the arrays, seen by no one else
        self._arrays = arrays

    def gathered_arrays(self):
        """The batch arrays (one array, a tuple, or a dict by key, as the examples are)
        while the list is unchanged, else None."""
        examples = self._examples
        if len(self) == len(examples) and all(map(operator.is_, self, examples)):
            return self._arrays
        return None


def gathered(examples, arrays):
    """``examples`` as a GatheredBatch over ``arrays`` (a tuple or dict of the gathered
    parts) when every part is an array, else as they are."""
    parts = arrays.values() if isinstance(arrays, dict) else arrays
    if all(hasattr(part, 'shape') for part in parts):
        return GatheredBatch(examples, arrays)
    return examples


def to_device(device, x):
    """Send ``x`` (an array, or a list or tuple of them) to ``device``.

    Args:
        device: None (``x`` is returned as it is), or anything ``dchain.get_device`` accepts:
            ``'@numpy'``, ``'@cupy:0'``, ``-1`` (the CPU), ``0`` (GPU 0), or a Device.
        x: the array(s); None passes through.
    Returns:
        ``x`` on ``device``; no copy when it is there already.
    """
    if device is None:
        return x
    return backend.get_device(device).send(x)


class Converter:
    """Base of converters: ``converter(batch, device)`` turns a list of examples into the
    arguments of the model. ``device`` reaches ``convert`` as a Device (or None)."""

    def __call__(self, batch, device=None):
        return self.convert(batch, None if device is None else backend.get_device(device))

    def convert(self, batch, device):
        raise NotImplementedError('{} does not implement convert'.format(type(self).__name__))


class _FunctionConverter(Converter):

    def __init__(self, function):
        if not callable(function):
            raise TypeError('converter: the decorated object must be callable, got {}'.format(
                type(function).__name__))
        self.function = function
        functools.update_wrapper(self, function)

    def convert(self, batch, device):
        return self.function(batch, device)


def converter():
    """Decorator that makes a function ``f(batch, device)`` a Converter, as Chainer's
    ``@chainer.dataset.converter()`` does: the device argument reaches ``f`` as a Device
    (``'@numpy'``, ``-1``, ``0``... are resolved with ``dchain.get_device``) or None.

    Example::

        @dchain.dataset.converter()
        def convert(batch, device):
            return dchain.dataset.to_device(device, numpy.stack(batch))
    """
    return _FunctionConverter


def call_converter(converter, batch, device):
    """Call ``converter(batch, device)`` as Chainer's updaters and evaluators do.

    A ``Converter`` (e.g. a function decorated with ``converter()``) gets ``device`` as a
    Device, or None. Any other callable is a legacy converter, written for integer devices:
    it gets None, ``-1`` for the CPU, or the GPU's id, so that code such as ``if device < 0``
    in Chainer programs keeps working.

    Args:
        converter: the converter.
        batch (list): the examples.
        device: None, or anything ``dchain.get_device`` accepts.
    """
    if device is not None:
        device = backend.get_device(device)
    if isinstance(converter, Converter) or device is None:
        return converter(batch, device)
    return converter(batch, getattr(device, 'id', -1))


def _is_array(x):
    return isinstance(x, numpy.ndarray) or backend.is_gpu_array(x)


def _shape_mismatch(arrays):
    first = arrays[0].shape
    for index, array in enumerate(arrays):
        if array.shape != first:
            return ('concat_examples: examples must have the same shape unless padding is '
                    'given, got {} (example 0) and {} (example {})'.format(first, array.shape,
                                                                           index))
    return None


def _concat_arrays(arrays, padding):
    first = arrays[0]
    if not _is_array(first):
        # Python or NumPy scalars (and nested lists): NumPy stacks them in one call
        try:
            return numpy.asarray(arrays)
        except ValueError as error:
            raise ValueError('concat_examples: examples of {} could not be stacked into one '
                             'array: {}'.format(type(first).__name__, error)) from None
    xp = backend.get_array_module(first)
    if padding is None:
        try:
            return xp.stack(arrays)
        except ValueError:
            message = _shape_mismatch(arrays)
            if message is None:
                raise
            raise ValueError(message) from None
    ndim = first.ndim
    shape = list(first.shape)
    for array in arrays:
        if array.ndim != ndim:
            raise ValueError('concat_examples: padding needs examples of the same ndim, got {} '
                             'and {}'.format(first.shape, array.shape))
        for axis, size in enumerate(array.shape):
            if size > shape[axis]:
                shape[axis] = size
    try:
        fill = numpy.asarray(padding, dtype=first.dtype)
    except (OverflowError, TypeError, ValueError):
        fill = None
    if fill is None or (fill != padding and fill == fill):  # fill != fill: a NaN padding
        raise TypeError('concat_examples: padding {!r} cannot be stored exactly in the {} '
                        'examples'.format(padding, first.dtype))
    result = xp.full([len(arrays)] + shape, fill[()], dtype=first.dtype)
    # examples of differing shapes cannot be copied in one vectorized call
    for index, array in enumerate(arrays):
        result[(index,) + tuple(slice(size) for size in array.shape)] = array
    return result


def concat_examples(batch, device=None, padding=None):
    """Stack a list of examples into batch arrays (Chainer's default converter).

    Args:
        batch (list): examples that are all arrays, all tuples of arrays, or all dicts of
            arrays (Python or NumPy scalars are allowed in place of arrays).
        device: where the batch goes; None leaves the arrays where the examples were (see
            ``to_device``).
        padding: None: the examples must have equal shapes. A scalar: each batch array gets
            the largest shape along every axis and is filled with ``padding`` where an
            example is smaller.
    Returns:
        An array of shape ``(len(batch),) + example shape``; a tuple of them for tuple
        examples; a dict of them for dict examples.
    """
    if device is not None:
        device = backend.get_device(device)
    arrays = batch.gathered_arrays() if isinstance(batch, GatheredBatch) else None
    if arrays is not None:  # the batch was cut from these arrays: no need to stack again
        # (this also gives zero-length arrays for an empty GatheredBatch, e.g. a rank's empty
        # share of a short global batch)
        if isinstance(arrays, dict):
            return {key: to_device(device, array) for key, array in arrays.items()}
        if isinstance(arrays, tuple):
            return tuple([to_device(device, array) for array in arrays])
        return to_device(device, arrays)
    if len(batch) == 0:
        raise ValueError('concat_examples: the batch is empty')
    first = batch[0]
    if isinstance(first, tuple):
        columns = list(zip(*batch))
        if len(columns) != len(first):
            raise ValueError('concat_examples: every example must be a tuple of {} items, got '
                             'one of {}'.format(len(first), min(len(e) for e in batch)))
        return tuple(to_device(device, _concat_arrays(column, padding)) for column in columns)
    if isinstance(first, dict):
        try:
            return {key: to_device(device, _concat_arrays([e[key] for e in batch], padding))
                    for key in first}
        except KeyError as error:
            raise ValueError('concat_examples: every example must have the keys {}, one lacks '
                             '{}'.format(sorted(first), error)) from None
    return to_device(device, _concat_arrays(batch, padding))
