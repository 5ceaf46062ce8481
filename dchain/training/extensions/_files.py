"""Atomic file writes for extensions: a crash mid-write leaves the previous file intact, and the
next write into the same folder removes what a killed write left behind."""
import os
import re
import shutil
import tempfile
import threading

_PREFIX = '.tmp_'
# what tempfile.mkdtemp appends to the prefix: 8 characters of [a-z0-9_]
_LEFTOVER = re.compile(re.escape(_PREFIX) + r'(?P<name>.+)_[a-z0-9_]{8}')
# what dchain.serializers.base.atomic_path writes beside its target
_SERIALIZER_LEFTOVER = re.compile(r'\.(?P<name>.+)\.[0-9a-f]{8}\.tmp')
_in_flight = set()   # temporary folders being written by this process now
_lock = threading.Lock()


def write_atomically(folder, filename, write):
    """Call ``write(path)`` on a temporary path, then move the result to ``folder/filename``
    with ``os.replace``.

    The temporary file sits in a fresh subfolder next to the target, under the target's own
    name, so writers that look at the extension see the real one and the move never crosses
    file systems. The subfolder is removed whether or not ``write`` succeeds; one left by an
    earlier write of the same file that was killed is removed first.
    """
    target = os.path.join(folder, filename)
    target_folder = os.path.dirname(target) or '.'
    basename = os.path.basename(target)
    os.makedirs(target_folder, exist_ok=True)
    remove_leftovers(target_folder, lambda name: name == basename)
    temporary_folder = tempfile.mkdtemp(prefix=_PREFIX + basename + '_', dir=target_folder)
    with _lock:
        _in_flight.add(os.path.abspath(temporary_folder))
    try:
        temporary_path = os.path.join(temporary_folder, basename)
        try:
            write(temporary_path)
            os.replace(temporary_path, target)
        except OSError as error:
            if error.errno is None:
                raise
            # e.g. a full disk: say which file, and that the previous one is intact
            raise OSError(error.errno, 'could not write {} ({}); the previous file of that '
                          'name, if any, is kept'.format(target, error.strerror)) from error
    finally:
        shutil.rmtree(temporary_folder, ignore_errors=True)
        with _lock:
            _in_flight.discard(os.path.abspath(temporary_folder))


def remove_leftovers(folder, belongs):
    """Remove the temporary folders and files that killed writes left in ``folder`` for the
    file names ``belongs(name)`` accepts; writes in progress in this process are kept.
    Returns the names removed."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for name in names:
        match = _LEFTOVER.fullmatch(name) or _SERIALIZER_LEFTOVER.fullmatch(name)
        if match is None or not belongs(match.group('name')):
            continue
        path = os.path.join(folder, name)
        with _lock:
            if os.path.abspath(path) in _in_flight:
                continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.remove(path)
            except OSError:
                continue
        removed.append(name)
    return removed
