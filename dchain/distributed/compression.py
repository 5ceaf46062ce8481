"""Compressed gradient exchange (ChainerMN's ``allreduce_grad_dtype``).

``create_communicator(..., allreduce_grad_dtype='float16')``: the multi-node optimizer casts
the gradients once into an exchange buffer of that dtype (already weighted, so the sum is
the mean and stays in float16's range), sums it over the ranks, and casts the result back
into the gradient buffer. Half the bytes cross the network, for float16's rounding of the
gradient (about 3 decimal digits). bfloat16 is refused: neither NumPy nor CuPy has it.
"""
import numpy

from dchain import backend

_NAMES = {'float16': numpy.float16, 'half': numpy.float16, 'float32': numpy.float32,
          'float64': numpy.float64}


def grad_dtype(value):
    """The exchange dtype for ``allreduce_grad_dtype`` (None: the gradients' own)."""
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in ('bfloat16', 'bf16'):
        raise ValueError("create_communicator: allreduce_grad_dtype='bfloat16' needs an array "
                         "library with a bfloat16 dtype; neither NumPy nor CuPy has one (use "
                         "'float16')")
    try:
        dtype = numpy.dtype(_NAMES.get(value, value) if isinstance(value, str) else value)
    except TypeError:
        dtype = None
    if dtype is None or dtype not in (numpy.float16, numpy.float32, numpy.float64):
        raise ValueError('create_communicator: allreduce_grad_dtype must be None, float16, '
                         'float32 or float64, got {!r}'.format(value))
    return dtype


class ExchangeBuffers:
    """Exchange buffers kept between steps, one per (device, size, dtype)."""

    def __init__(self):
        self._buffers = {}

    def sum(self, comm, flat, dtype, scale=None, deterministic=False, tag=0):
        """Sum ``flat`` (times ``scale``) over ``comm`` through a ``dtype`` buffer, in place."""
        xp = backend.get_array_module(flat)
        key = (xp.__name__, backend.is_gpu_array(flat) and flat.device.id, flat.size, dtype)
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = xp.empty(flat.size, dtype)
        if scale is None:
            buffer[...] = flat
        else:
            xp.multiply(flat, scale, out=buffer, casting='same_kind')
        if deterministic:
            buffer[...] = comm.allreduce_deterministic(buffer)
        else:
            comm.allreduce_inplace(buffer, tag=tag)
        flat[...] = buffer
        return flat
