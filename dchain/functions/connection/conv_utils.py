"""Shared pieces of convolution and pooling: argument pairs, output sizes, im2col and col2im.

The column buffer of a convolution keeps the batch axis last: ``col`` has shape
``(C, kh, kw, out_h, out_w, N)``, read from the image laid out as ``(C, H, W, N)``. With that
layout, ``col`` reshaped to ``(C*kh*kw, out_h*out_w*N)`` is the right operand of one large GEMM,
im2col is a single copy of a strided view whose innermost runs are ``out_w * N`` long, and
col2im adds ``kh * kw`` strided slices that are just as long (in NCHW order the runs would
be ``out_w`` elements, and NumPy's per-run overhead dominates). Convolutions return their
output as an NCHW view of such a ``(C, H, W, N)`` buffer, so the next layer finds its input
already in the layout it wants and elementwise ops in between keep it (NumPy's order='K').
"""
import threading

import numpy

from dchain import backend

_scratch = threading.local()


def scratch(like, shape, dtype):
    """A C-contiguous array of ``shape`` and ``dtype`` on the device of ``like``, with undefined
    contents, reused across calls in this thread.

    Column buffers live only inside one forward, and a fresh multi-megabyte array per call
    costs page faults on every step; the scratch buffer keeps the largest one seen (one per
    device, since a GPU cannot use another GPU's buffer).
    """
    dtype = numpy.dtype(dtype)
    size = dtype.itemsize
    for n in shape:
        size *= n
    buffers = _scratch.__dict__
    device = getattr(like, 'device', None)  # NumPy before 2.0 has no ndarray.device
    key = getattr(device, 'id', device)
    buffer = buffers.get(key)
    if buffer is None or buffer.size < size:
        buffer = backend.get_array_module(like).empty(size, numpy.uint8)
        buffers[key] = buffer
    return buffer[:size].view(dtype).reshape(shape)


def pair(label, name, value, minimum):
    """``value`` (an int or a pair of ints, each >= ``minimum``) as a pair of Python ints."""
    if isinstance(value, (int, numpy.integer)) and not isinstance(value, bool):
        values = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, numpy.integer)) and not isinstance(v, bool) for v in value):
        values = (int(value[0]), int(value[1]))
    else:
        raise TypeError('{}: {} must be an int or a pair of ints, got {!r}'.format(
            label, name, value))
    if values[0] < minimum or values[1] < minimum:
        raise ValueError('{}: {} must be at least {}, got {!r}'.format(
            label, name, minimum, value))
    return values


def positive_int(label, name, value):
    """``value`` as a Python int, refused unless it is an int >= 1."""
    if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool):
        raise TypeError('{}: {} must be an int, got {!r}'.format(label, name, value))
    if value < 1:
        raise ValueError('{}: {} must be at least 1, got {}'.format(label, name, value))
    return int(value)


def get_conv_outsize(size, k, s, p, cover_all=False, d=1):
    """Output length of a convolution (Chainer's formula; ``cover_all`` rounds up)."""
    dk = k + (k - 1) * (d - 1)
    if cover_all:
        return (size + p * 2 - dk + s - 1) // s + 1
    return (size + p * 2 - dk) // s + 1


def get_deconv_outsize(size, k, s, p, cover_all=False, d=1):
    """Output length of a deconvolution (the inverse of ``get_conv_outsize``)."""
    dk = (k - 1) * d + 1
    if cover_all:
        return s * (size - 1) + dk - s + 1 - 2 * p
    return s * (size - 1) + dk - 2 * p


def as_chwn(x):
    """``x`` of shape (N, C, H, W) as a C-contiguous (C, H, W, N) array (free when it is one)."""
    return backend.get_array_module(x).ascontiguousarray(x.transpose(1, 2, 3, 0))


def from_chwn(y):
    """The NCHW view of a (C, H, W, N) array."""
    return y.transpose(3, 0, 1, 2)


def _extent(out_size, k, s, d):
    """How many input rows the windows of ``out_size`` outputs read (padding included)."""
    return (out_size - 1) * s + (k - 1) * d + 1


def pad_image(x, ph, pw, height, width, value, axes=(1, 2)):
    """``x`` placed at offset (ph, pw) of the spatial ``axes`` in a buffer of at least
    (height, width), filled with ``value`` elsewhere; ``x`` itself when no padding is needed.

    The buffer keeps the memory layout of ``x``.
    """
    ah, aw = axes
    h, w = x.shape[ah], x.shape[aw]
    if ph == 0 and pw == 0 and height <= h and width <= w:
        return x
    xp = backend.get_array_module(x)
    shape = list(x.shape)
    shape[ah] = max(height, ph + h)
    shape[aw] = max(width, pw + w)
    buffer = xp.empty_like(x, shape=tuple(shape))
    buffer.fill(value)
    index = [slice(None)] * x.ndim
    index[ah] = slice(ph, ph + h)
    index[aw] = slice(pw, pw + w)
    buffer[tuple(index)] = x
    return buffer


def im2col(x, kh, kw, sy, sx, ph, pw, out_h, out_w, dy=1, dx=1, pad_value=0, out=None):
    """Columns of ``x`` (C, H, W, N): a contiguous array of shape (C, kh, kw, out_h, out_w, N),
    written into ``out`` when given."""
    xp = backend.get_array_module(x)
    x = pad_image(x, ph, pw, _extent(out_h, kh, sy, dy), _extent(out_w, kw, sx, dx), pad_value)
    sc, sh, sw, sn = x.strides
    view = xp.lib.stride_tricks.as_strided(
        x, (x.shape[0], kh, kw, out_h, out_w, x.shape[3]),
        (sc, sh * dy, sw * dx, sh * sy, sw * sx, sn))
    if out is None:
        return xp.ascontiguousarray(view)
    out[...] = view
    return out


def col2im(col, sy, sx, ph, pw, h, w, dy=1, dx=1):
    """Sum the columns ``col`` (C, kh, kw, out_h, out_w, N) back into an image (C, h, w, N).

    The inverse scatter of im2col: each kernel offset adds one strided slice, so the Python
    loop runs kh * kw times whatever the image size.
    """
    xp = backend.get_array_module(col)
    c, kh, kw, out_h, out_w, n = col.shape
    height = max(_extent(out_h, kh, sy, dy), ph + h)
    width = max(_extent(out_w, kw, sx, dx), pw + w)
    image = xp.zeros((c, height, width, n), col.dtype)
    for i in range(kh):
        top = i * dy
        rows = slice(top, top + sy * (out_h - 1) + 1, sy)
        for j in range(kw):
            left = j * dx
            image[:, rows, left:left + sx * (out_w - 1) + 1:sx] += col[:, i, j]
    if height == h and width == w:
        return image
    return image[:, ph:ph + h, pw:pw + w]


def windows(x, kh, kw, sy, sx, ph, pw, out_h, out_w, pad_value):
    """A strided view (N, C, kh, kw, out_h, out_w) of the pooling windows of ``x`` (N, C, H, W).

    ``x`` is padded with ``pad_value`` first when the windows reach past it (a copy in the
    layout of ``x``); otherwise the view shares memory with ``x``.
    """
    xp = backend.get_array_module(x)
    x = pad_image(x, ph, pw, _extent(out_h, kh, sy, 1), _extent(out_w, kw, sx, 1), pad_value,
                  axes=(2, 3))
    sn, sc, sh, sw = x.strides
    return xp.lib.stride_tricks.as_strided(
        x, x.shape[:2] + (kh, kw, out_h, out_w), (sn, sc, sh, sw, sh * sy, sw * sx))


def window_buffer(x_shape, like, dtype, kh, kw, sy, sx, ph, pw, out_h, out_w, zero=True):
    """An image of ``dtype`` able to hold every pooling window, with a windows view of it.

    The image is zeros, or left uninitialized with ``zero=False`` (for windows that tile it).

    Returns ``(image, view)``: ``image`` (N, C, H', W') in the layout of ``like`` and ``view``
    (N, C, kh, kw, out_h, out_w) over it; crop ``image`` with ``crop`` afterwards.
    """
    xp = backend.get_array_module(like)
    n, c, h, w = x_shape
    height = max(_extent(out_h, kh, sy, 1), ph + h)
    width = max(_extent(out_w, kw, sx, 1), pw + w)
    make = xp.zeros_like if zero else xp.empty_like
    image = make(like, dtype=dtype, shape=(n, c, height, width))
    sn, sc, sh, sw = image.strides
    view = xp.lib.stride_tricks.as_strided(
        image, (n, c, kh, kw, out_h, out_w), (sn, sc, sh, sw, sh * sy, sw * sx))
    return image, view


def crop(image, ph, pw, h, w):
    """The (h, w) part of a padded NCHW ``image`` at offset (ph, pw)."""
    if image.shape[2] == h and image.shape[3] == w:
        return image
    return image[:, :, ph:ph + h, pw:pw + w]
