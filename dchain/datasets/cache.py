"""Converted dataset caches: arrays made once from checked downloads, kept as one .npz.

A cache is trusted only when it passes its own check: ``save`` records the SHA-256 of every
array (its name, dtype, shape and bytes) in the file under ``_dchain_sha256``, and ``load``
recomputes it. A damaged, truncated or planted file (an all-zero ``mnist.npz``, say) is
rebuilt from the checked source files instead of being loaded.
"""
import contextlib
import hashlib
import os
import zipfile

import numpy

from dchain.dataset import download

CHECK_KEY = '_dchain_sha256'


def digest(arrays):
    """The hex SHA-256 of ``arrays`` (a dict of arrays), over names, dtypes, shapes and bytes."""
    hasher = hashlib.sha256()
    for key in sorted(arrays):
        array = numpy.ascontiguousarray(arrays[key])
        hasher.update('{}|{}|{}|'.format(key, array.dtype.str, array.shape).encode())
        hasher.update(array.data if array.size else b'')
    return hasher.hexdigest()


def save(path, arrays):
    """Write ``arrays`` (a dict of arrays) to the .npz ``path`` atomically, with their
    check."""
    contents = dict(arrays)
    contents[CHECK_KEY] = numpy.array(digest(arrays))
    download.atomic_write(path, lambda file: numpy.savez(file, **contents))


def load(path, keys):
    """The arrays ``keys`` of the cache ``path``; None when it is missing, unreadable, lacks
    a key, or fails its check."""
    try:
        with numpy.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in keys}
            recorded = str(npz[CHECK_KEY][()])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    return arrays if digest(arrays) == recorded else None


def cached(directory, cache_name, keys, build, check=None):
    """The arrays of ``directory/cache_name``, built by ``build()`` when the cache is not
    intact.

    Processes on one host take turns (a file lock), so the source files are downloaded and
    converted once. ``check(arrays)`` may raise ValueError to refuse well-formed arrays that
    do not fit the dataset.
    """
    path = os.path.join(directory, cache_name)

    def read():
        arrays = load(path, keys)
        if arrays is not None and check is not None:
            try:
                check(arrays)
            except ValueError:
                return None
        return arrays

    arrays = read()
    if arrays is not None:
        return arrays
    with download.file_lock(os.path.splitext(path)[0] + '.lock'):
        arrays = read()  # another process may have built it while this one waited
        if arrays is None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            arrays = build()
            with contextlib.suppress(OSError):  # a cache that cannot be written is no error
                save(path, arrays)
    return arrays


def checked_file(caller, directory, filename, md5, urls, max_bytes):
    """The path of ``directory/filename`` once its MD5 is ``md5``: a cached copy, or one
    downloaded from ``urls``. Without either, a DownloadError (an OSError) says which file
    to place where."""
    def verify(path):
        found = download.md5_of_file(path)
        if found != md5:
            raise ValueError('MD5 {} is not the published {}'.format(found, md5))

    path = os.path.join(directory, filename)
    try:
        download.fetch_file(path, urls, verify, max_bytes)
        return path
    except download.DownloadError as error:
        raise download.DownloadError(
            '{}: {}. Without network access, place {} (MD5 {}, from {}) in {}'.format(
                caller, error, filename, md5, urls[0] if urls else 'its publisher',
                directory)) from error
