"""Where a training step spends its time: the phases that ``extensions.Timeline`` records.

The update path marks the start and end of each phase (forward, backward, exchange, update)::

    mark = _timeline.mark()
    loss = lossfun(*args)
    _timeline.span('forward', mark)

When no timeline is recording, ``mark`` returns None and ``span`` returns at once, so the
marks cost a function call each.
"""
import time

from dchain import backend

_recorder = None


class Recorder:
    """Collects ``(phase, start, end)`` spans (``time.perf_counter`` seconds).

    Args:
        synchronize (bool): wait for the GPU at the end of each span, so that a span covers
            the device work it launched rather than only the launch.
    """

    def __init__(self, synchronize=True):
        self.synchronize = synchronize
        self.spans = []

    def take(self):
        """The spans recorded since the last call."""
        spans, self.spans = self.spans, []
        return spans


def start(recorder):
    """Make ``recorder`` the one that collects spans (one at a time)."""
    global _recorder
    if _recorder is not None and _recorder is not recorder:
        raise RuntimeError('Timeline: another timeline is already recording in this process')
    _recorder = recorder


def stop(recorder):
    """Stop ``recorder`` collecting spans."""
    global _recorder
    if _recorder is recorder:
        _recorder = None


def mark():
    """The start of a span: a time when a timeline records, else None."""
    if _recorder is None:
        return None
    return time.perf_counter()


def span(phase, started):
    """Record ``phase`` from ``started`` (a ``mark()``) to now."""
    recorder = _recorder
    if started is None or recorder is None:
        return
    if recorder.synchronize:
        cupy = backend._seen_cupy()
        if cupy is not None and cupy.cuda.runtime.getDeviceCount() > 0:
            cupy.cuda.get_current_stream().synchronize()
    recorder.spans.append((phase, started, time.perf_counter()))
