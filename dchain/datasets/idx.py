"""Datasets in IDX files (the MNIST format): checked, parsed, and cached as one .npz.

A dataset is four gzipped IDX files (training images and labels, test images and labels).
Each file is accepted when the MD5 of the .gz is the published one, or, for a copy that was
recompressed (Debian's packages are), when the MD5 of its decompressed contents is; gzip's
own CRC catches a truncated or damaged stream either way. Parsed arrays are cached as
``<name>.npz`` beside the .gz files (checked when read, see ``dchain.datasets.cache``), so
later loads skip decompression.
"""
import gzip
import hashlib
import os
import zlib

import numpy

from dchain.dataset import download
from dchain.datasets import cache

KEYS = ('x_train', 'y_train', 'x_test', 'y_test')


class IdxSource:
    """Where a dataset stored as IDX files comes from.

    Args:
        name (str): the dataset's folder under the dataset root, e.g. ``'mnist'``.
        files (dict): the four file names in the order of ``KEYS``, each mapped to the MD5 of
            the .gz file and the MD5 of its decompressed contents.
        mirrors (list of str): URL prefixes to download the files from, tried in order.
        system_directories (list of str): read-only folders searched first (for files
            installed by a package manager).
        max_bytes (int): the most bytes one download may bring.
    """

    def __init__(self, name, files, mirrors, system_directories=(), max_bytes=64 << 20):
        self.name = name
        self.files = files
        self.mirrors = mirrors
        self.system_directories = system_directories
        self.max_bytes = max_bytes


def verify(path, md5s):
    """The decompressed contents of the gzipped file ``path`` if it matches one of ``md5s``
    (of the .gz, of the contents); ValueError otherwise."""
    with open(path, 'rb') as file:
        data = file.read()
    digest = hashlib.md5(data).hexdigest()
    try:
        contents = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError('MD5 {} is not the published {}, and the gzip stream is broken: {}'
                         .format(digest, md5s[0], error)) from None
    if digest != md5s[0] and hashlib.md5(contents).hexdigest() != md5s[1]:
        raise ValueError('MD5 {} is not the published {}'.format(digest, md5s[0]))
    return contents


def parse_idx(data, name):
    """The uint8 array held by the IDX bytes ``data`` (``name`` is for error messages)."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError('{}: not an IDX file of unsigned bytes'.format(name))
    header = 4 + 4 * data[3]
    if len(data) < header:
        raise ValueError('{}: the IDX header is cut short'.format(name))
    shape = tuple(int(n) for n in numpy.frombuffer(data, '>u4', data[3], 4))
    count = int(numpy.prod(shape))
    if len(data) - header != count:
        raise ValueError('{}: the IDX header announces {} values of shape {}, the file holds {}'
                         .format(name, count, shape, len(data) - header))
    return numpy.frombuffer(data, numpy.uint8, count, header).reshape(shape)


def check_arrays(arrays, name):
    """Raise ValueError unless ``arrays`` are 28x28 uint8 images with one label each."""
    for part in ('train', 'test'):
        x, y = arrays['x_' + part], arrays['y_' + part]
        if x.dtype != numpy.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) \
                or y.dtype != numpy.uint8 or y.shape != x.shape[:1]:
            raise ValueError('{}: the {} set has images {} {} and labels {} {}; expected uint8 '
                             'images (n, 28, 28) and n uint8 labels'.format(
                                 name, part, x.shape, x.dtype, y.shape, y.dtype))


def _contents(source, directory, filename):
    md5s = source.files[filename]
    for system_directory in source.system_directories:
        path = os.path.join(system_directory, filename)
        if os.path.isfile(path):
            try:
                return verify(path, md5s)
            except (OSError, ValueError):
                pass  # not ours to delete: look further
    if directory is None:
        raise download.DownloadError('{} was not found in {}'.format(
            filename, ', '.join(source.system_directories) or 'any system folder'))
    return download.fetch_file(os.path.join(directory, filename),
                               [mirror + filename for mirror in source.mirrors],
                               lambda path: verify(path, md5s), source.max_bytes)


def _read_files(source, directory):
    arrays = {key: parse_idx(_contents(source, directory, filename), filename)
              for key, filename in zip(KEYS, source.files)}
    check_arrays(arrays, source.name)
    return arrays


def load(source):
    """The arrays ``x_train``, ``y_train``, ``x_test``, ``y_test`` (uint8) of ``source``.

    Read from the checked .npz cache when it is intact; otherwise, holding the dataset's
    lock, from the IDX files (found in a system folder or the cache folder, else downloaded),
    which then fill the cache. Raises DownloadError (an OSError) when a file cannot be had
    intact.
    """
    try:
        directory = download.get_dataset_directory(source.name)
    except OSError:
        return _read_files(source, None)  # a read-only home: system folders, no cache
    return cache.cached(directory, source.name + '.npz', KEYS,
                        lambda: _read_files(source, directory),
                        lambda arrays: check_arrays(arrays, source.name))
