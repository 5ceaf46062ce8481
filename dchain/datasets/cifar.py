"""CIFAR-10 and CIFAR-100, as Chainer's ``get_cifar10`` and ``get_cifar100`` return them.

The published ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` are read from
``$DCHAIN_DATASET_ROOT/cifar/`` or downloaded there, checked against their published MD5,
and converted once into ``cifar-10.npz`` / ``cifar-100.npz`` beside them (checked when read).
The batches inside the archives are pickles; they are read with an unpickler that builds
NumPy arrays and nothing else, so even a tampered archive cannot run code.
"""
import codecs
import io
import pickle

import numpy

from dchain.config import config
from dchain.dataset import download
from dchain.datasets import cache
from dchain.datasets.tuple_dataset import TupleDataset

_URL = 'https://www.cs.toronto.edu/~kriz/'
_SOURCES = {
    'cifar-10': ('cifar-10-python.tar.gz', 'c58f30108f718f92721af3b95e74349a',
                 ['cifar-10-batches-py/data_batch_{}'.format(i) for i in range(1, 6)],
                 ['cifar-10-batches-py/test_batch'], 'labels'),
    'cifar-100': ('cifar-100-python.tar.gz', 'eb9058c3a382ffc7106e4002c42a8d85',
                  ['cifar-100-python/train'], ['cifar-100-python/test'], 'fine_labels'),
}
_KEYS = ('train_x', 'train_y', 'test_x', 'test_y')
_MAX_BYTES = 256 << 20   # both archives are about 170 MB


def _reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct as function
    except ImportError:  # NumPy 1
        from numpy.core.multiarray import _reconstruct as function
    return function


class _ArrayUnpickler(pickle.Unpickler):
    # the batches hold a dict of lists, strings and one uint8 array: nothing else is built
    # (_codecs.encode turns text into bytes: how Python 3's protocol 2 stores bytes)
    _allowed = {('numpy.core.multiarray', '_reconstruct'),
                ('numpy._core.multiarray', '_reconstruct'),
                ('numpy', 'ndarray'), ('numpy', 'dtype'), ('_codecs', 'encode')}

    def find_class(self, module, name):
        if (module, name) not in self._allowed:
            raise pickle.UnpicklingError('a CIFAR batch may hold only NumPy arrays, this one '
                                         'asks for {}.{}'.format(module, name))
        if name == '_reconstruct':
            return _reconstruct()
        if name == 'encode':
            return codecs.encode
        return getattr(numpy, name)


def _read_batches(archive, members, label_key, archive_path):
    images, labels = [], []
    for member in members:
        try:
            file = archive.extractfile(member)
        except KeyError:
            file = None
        if file is None:
            raise ValueError('{} lacks {}'.format(archive_path, member))
        batch = _ArrayUnpickler(io.BytesIO(file.read()), encoding='latin1').load()
        batch = {key.decode() if isinstance(key, bytes) else key: value
                 for key, value in batch.items()}
        data = numpy.asarray(batch['data'], dtype=numpy.uint8)
        images.append(data.reshape(len(data), 3072))
        labels.append(numpy.asarray(batch[label_key], dtype=numpy.uint8))
        if len(labels[-1]) != len(images[-1]):
            raise ValueError('{}: {} has {} images and {} labels'.format(
                archive_path, member, len(images[-1]), len(labels[-1])))
    return numpy.concatenate(images), numpy.concatenate(labels)


def _convert(name, directory, caller):
    import tarfile  # here: only a conversion needs it
    filename, md5, train_members, test_members, label_key = _SOURCES[name]
    path = cache.checked_file(caller, directory, filename, md5, [_URL + filename], _MAX_BYTES)
    with tarfile.open(path, 'r:gz') as archive:
        train_x, train_y = _read_batches(archive, train_members, label_key, path)
        test_x, test_y = _read_batches(archive, test_members, label_key, path)
    return {'train_x': train_x, 'train_y': train_y, 'test_x': test_x, 'test_y': test_y}


def _check(arrays):
    for part in ('train', 'test'):
        x, y = arrays[part + '_x'], arrays[part + '_y']
        if x.dtype != numpy.uint8 or x.ndim != 2 or x.shape[1] != 3072 \
                or y.dtype != numpy.uint8 or y.shape != x.shape[:1]:
            raise ValueError('unexpected CIFAR arrays')


def _preprocess(images, labels, withlabel, ndim, scale, dtype):
    images = images.reshape(-1, 3072) if ndim == 1 else images.reshape(-1, 3, 32, 32)
    images = images.astype(dtype)
    images *= scale / 255.
    if withlabel:
        return TupleDataset(images, labels.astype(numpy.int32))
    return images


def _get_cifar(name, caller, withlabel, ndim, scale, dtype):
    if isinstance(ndim, bool) or ndim not in (1, 3):
        raise ValueError('{}: ndim must be 1 (3072,) or 3 (3, 32, 32), got {!r}'.format(
            caller, ndim))
    if isinstance(scale, bool) or not isinstance(scale, (int, float, numpy.number)):
        raise TypeError('{}: scale must be a number, got {}'.format(caller, type(scale).__name__))
    if dtype is None:
        dtype = config.dtype or numpy.float32
    dtype = numpy.dtype(dtype)
    if dtype.kind != 'f':
        raise TypeError('{}: dtype must be a floating-point dtype for the scaled pixels, got {}'
                        .format(caller, dtype))
    directory = download.get_dataset_directory('cifar')
    raw = cache.cached(directory, name + '.npz', _KEYS,
                       lambda: _convert(name, directory, caller), _check)
    return tuple(_preprocess(raw[part + '_x'], raw[part + '_y'], withlabel, ndim, scale, dtype)
                 for part in ('train', 'test'))


def get_cifar10(withlabel=True, ndim=3, scale=1., dtype=None):
    """The CIFAR-10 images (50,000 / 10,000 RGB 32x32 images in 10 classes):
    ``(train, test)``.

    Args:
        withlabel (bool): True: each set is a TupleDataset of (image, int32 label); False:
            an array of images.
        ndim (int): image shape 1: (3072,), 3: (3, 32, 32).
        scale (float): pixel values are scaled to [0, scale].
        dtype: a floating-point dtype for the images (None: ``config.dtype``, else float32).
    Returns:
        (train, test). The archive is read from (or downloaded to)
        ``$DCHAIN_DATASET_ROOT/cifar/cifar-10-python.tar.gz``.
    """
    return _get_cifar('cifar-10', 'get_cifar10', withlabel, ndim, scale, dtype)


def get_cifar100(withlabel=True, ndim=3, scale=1., dtype=None):
    """The CIFAR-100 images (50,000 / 10,000 RGB 32x32 images; labels are the 100 fine
    classes): ``(train, test)``, with the arguments of ``get_cifar10``.

    The archive is read from (or downloaded to)
    ``$DCHAIN_DATASET_ROOT/cifar/cifar-100-python.tar.gz``.
    """
    return _get_cifar('cifar-100', 'get_cifar100', withlabel, ndim, scale, dtype)
