"""Keep large temporaries in the heap instead of mapping fresh pages for each one.

glibc serves allocations above a threshold (128 KiB at first, adapting up to 32 MiB) with
mmap and returns them to the system on free, so a training step that allocates the same
multi-megabyte temporaries every iteration page-faults all of them in again each time:
about a quarter of a CNN step on the CPU. Raising the mmap threshold to 32 MiB and the trim
threshold to 256 MiB lets freed blocks be reused. Peak memory is unchanged (the same arrays
are live at the peak); up to 256 MiB of freed heap may stay mapped between steps.

Applied once at import on Linux with glibc, unless ``DCHAIN_MALLOC_TUNING=0`` or the user set
``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` (glibc then follows those).
"""
import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20

applied = False


def apply(environ=os.environ):
    """Set the thresholds (see the module docstring); returns whether they were set."""
    global applied
    if applied or not sys.platform.startswith('linux'):
        return applied
    if environ.get('DCHAIN_MALLOC_TUNING', '1') == '0':
        return False
    if 'MALLOC_MMAP_THRESHOLD_' in environ or 'MALLOC_TRIM_THRESHOLD_' in environ:
        return False
    try:
        mallopt = ctypes.CDLL('libc.so.6').mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return applied


apply()
