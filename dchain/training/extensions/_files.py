"""Atomic file writes for extensions: a crash mid-write leaves the previous file intact."""
import os
import shutil
import tempfile


def write_atomically(folder, filename, write):
    """Call ``write(path)`` on a temporary path, then move the result to ``folder/filename``
    with ``os.replace``.

    The temporary file sits in a fresh subfolder next to the target, under the target's own
    name, so writers that look at the extension see the real one and the move never crosses
    file systems. The subfolder is removed whether or not ``write`` succeeds.
    """
    target = os.path.join(folder, filename)
    target_folder = os.path.dirname(target) or '.'
    basename = os.path.basename(target)
    os.makedirs(target_folder, exist_ok=True)
    temporary_folder = tempfile.mkdtemp(prefix='.tmp_' + basename + '_', dir=target_folder)
    try:
        temporary_path = os.path.join(temporary_folder, basename)
        write(temporary_path)
        os.replace(temporary_path, target)
    finally:
        shutil.rmtree(temporary_folder, ignore_errors=True)
