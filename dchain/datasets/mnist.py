"""MNIST and Fashion-MNIST, as Chainer's ``get_mnist`` and ``get_fashion_mnist`` return them.

The full sets are read from ``$DCHAIN_DATASET_ROOT/mnist/`` and ``.../fashion-mnist/``
(default root ``~/.dchain/dataset``) or downloaded there, each file checked against its
published MD5 (see ``dchain.datasets.idx`` and ``dchain.dataset.download``). Fashion-MNIST is
also read from ``/usr/share/datasets/fashion-mnist/`` (Debian's ``dataset-fashion-mnist``).

Offline, ``get_mnist`` falls back (with one warning) to a bundled subset of 5,000 real MNIST
digits: 4,000 for training and 1,000 for test, 400 and 100 of each class, split
deterministically (see ``data/mnist_5k.README.md``).
"""
import os
import warnings

import numpy

from dchain.config import get_dtype
from dchain.datasets import idx
from dchain.datasets.tuple_dataset import TupleDataset

MNIST = idx.IdxSource(
    'mnist',
    {'train-images-idx3-ubyte.gz': ('f68b3c2dcbeaaa9fbdd348bbdeb94873',
                                    '6bbc9ace898e44ae57da46a324031adb'),
     'train-labels-idx1-ubyte.gz': ('d53e105ee54ea40749a09fcbcd1e9432',
                                    'a25bea736e30d166cdddb491f175f624'),
     't10k-images-idx3-ubyte.gz': ('9fb629c4189551a2d022fa330f9573f3',
                                   '2646ac647ad5339dbf082846283269ea'),
     't10k-labels-idx1-ubyte.gz': ('ec29112dd5afa0611ce80d1b7f02629c',
                                   '27ae3e4e09519cfbb04c329615203637')},
    ['https://ossci-datasets.s3.amazonaws.com/mnist/',
     'https://storage.googleapis.com/cvdf-datasets/mnist/',
     'http://yann.lecun.com/exdb/mnist/'])

FASHION_MNIST = idx.IdxSource(
    'fashion-mnist',
    {'train-images-idx3-ubyte.gz': ('8d4fb7e6c68d591d4c3dfef9ec88bf0d',
                                    'f4a8712d7a061bf5bd6d2ca38dc4d50a'),
     'train-labels-idx1-ubyte.gz': ('25c81989df183df01b3e8a0aad5dffbe',
                                    '9018921c3c673c538a1fc5bad174d6f9'),
     't10k-images-idx3-ubyte.gz': ('bef4ecab320f06d8554ea6380940ec79',
                                   '8181f5470baa50b63fa0f6fddb340f0a'),
     't10k-labels-idx1-ubyte.gz': ('bb300cfdad3c16e7a12a480ee83cd310',
                                   '15d484375f8d13e6eb1aabb0c3f46965')},
    ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
     'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/'],
    ['/usr/share/datasets/fashion-mnist'])

BUNDLED_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'mnist_5k.npz')

_FASHION_LABELS = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                   'Sneaker', 'Bag', 'Ankle boot')

_bundled = None          # the bundled arrays, read once
_fallback_warned = False


class DatasetFallbackWarning(UserWarning):
    """Warns that a smaller bundled dataset is used because the full one is unavailable."""


def _load_bundled():
    global _bundled
    if _bundled is None:
        with numpy.load(BUNDLED_PATH) as npz:
            arrays = {key: npz[key] for key in idx.KEYS}
        for part in ('train', 'test'):
            arrays['x_' + part] = arrays['x_' + part].reshape(-1, 28, 28)
        _bundled = arrays
    return _bundled


def _warn_fallback(error):
    global _fallback_warned
    if _fallback_warned:
        return
    _fallback_warned = True
    folder = os.path.join(idx.download.get_dataset_root(), MNIST.name)
    warnings.warn(
        'get_mnist: the full MNIST set is not in {0} and could not be downloaded ({1}). Using '
        'the bundled subset of 5,000 real MNIST digits instead (4,000 train / 1,000 test), so '
        'accuracies are not comparable with full-MNIST results. To use the full set, place {2} '
        'in {0} (or set DCHAIN_DATASET_ROOT to a folder whose mnist/ subfolder holds them); '
        "call get_mnist(subset='bundled') to use the subset without this warning.".format(
            folder, error, ', '.join(MNIST.files)), DatasetFallbackWarning, stacklevel=3)


def _check_arguments(caller, ndim, scale, dtype, label_dtype, rgb_format):
    if ndim not in (1, 2, 3) or isinstance(ndim, bool):
        raise ValueError('{}: ndim must be 1 (784,), 2 (28, 28) or 3 (1, 28, 28), got {!r}'
                         .format(caller, ndim))
    if rgb_format and ndim != 3:
        raise ValueError('{}: rgb_format=True needs ndim=3, got ndim={}'.format(caller, ndim))
    if isinstance(scale, bool) or not isinstance(scale, (int, float, numpy.number)):
        raise TypeError('{}: scale must be a number, got {}'.format(caller, type(scale).__name__))
    dtype = get_dtype(dtype)  # None: config.dtype (float32 unless set), as in Chainer
    if dtype.kind != 'f':
        raise TypeError('{}: dtype must be a floating-point dtype for the scaled pixels, got {}'
                        .format(caller, dtype))
    label_dtype = numpy.dtype(label_dtype)
    if label_dtype.kind not in 'iu':
        raise TypeError('{}: label_dtype must be an integer dtype (labels are class indices '
                        '0-9), got {}'.format(caller, label_dtype))
    return dtype, label_dtype


def _preprocess(images, labels, withlabel, ndim, scale, dtype, label_dtype, rgb_format):
    if ndim == 1:
        images = images.reshape(-1, 784)
    elif ndim == 3:
        images = images.reshape(-1, 1, 28, 28)
        if rgb_format:
            images = numpy.broadcast_to(images, (len(images), 3, 28, 28))
    images = images.astype(dtype)
    images *= scale / 255.
    if not withlabel:
        return images
    return TupleDataset(images, labels.astype(label_dtype))


def _datasets(arrays, withlabel, ndim, scale, dtype, label_dtype, rgb_format):
    return tuple(_preprocess(arrays['x_' + part], arrays['y_' + part], withlabel, ndim, scale,
                             dtype, label_dtype, rgb_format) for part in ('train', 'test'))


def get_mnist(withlabel=True, ndim=1, scale=1., dtype=None, label_dtype=numpy.int32,
              rgb_format=False, subset=None):
    """The MNIST handwritten digits: ``(train, test)``.

    Args:
        withlabel (bool): True: each set is a TupleDataset of (image, label); False: an array
            of images.
        ndim (int): image shape 1: (784,), 2: (28, 28), 3: (1, 28, 28).
        scale (float): pixel values are scaled to [0, scale].
        dtype: a floating-point dtype for the images (None: ``config.dtype``, float32
            unless set).
        label_dtype: an integer dtype for the labels.
        rgb_format (bool): with ndim=3, repeat the channel: images (3, 28, 28).
        subset: None: the full set (60,000 / 10,000), falling back with one warning to the
            bundled subset when it can be neither found nor downloaded; 'full': the full set
            or an error; 'bundled': the bundled 5,000 digits (4,000 / 1,000, 400 / 100 per
            class, split deterministically), no warning.
    Returns:
        (train, test).
    """
    dtype, label_dtype = _check_arguments('get_mnist', ndim, scale, dtype, label_dtype,
                                          rgb_format)
    if subset == 'bundled':
        arrays = _load_bundled()
    elif subset in (None, 'full'):
        try:
            arrays = idx.load(MNIST)
        except (OSError, ValueError) as error:
            if subset == 'full':
                raise
            _warn_fallback(error)
            arrays = _load_bundled()
    else:
        raise ValueError("get_mnist: subset must be None, 'full' or 'bundled', got {!r}".format(
            subset))
    return _datasets(arrays, withlabel, ndim, scale, dtype, label_dtype,
                     rgb_format)


def get_fashion_mnist(withlabel=True, ndim=1, scale=1., dtype=None,
                      label_dtype=numpy.int32, rgb_format=False):
    """Zalando's Fashion-MNIST (60,000 / 10,000 clothing images in 10 classes):
    ``(train, test)``, with the arguments of ``get_mnist``.

    Read from ``/usr/share/datasets/fashion-mnist/`` (Debian: ``apt install
    dataset-fashion-mnist``) or ``$DCHAIN_DATASET_ROOT/fashion-mnist/``, else downloaded there;
    there is no bundled fallback, so without either a DownloadError (an OSError) says what
    to do. ``get_fashion_mnist_labels()`` names the classes.
    """
    dtype, label_dtype = _check_arguments('get_fashion_mnist', ndim, scale, dtype, label_dtype,
                                          rgb_format)
    try:
        arrays = idx.load(FASHION_MNIST)
    except idx.download.DownloadError as error:
        raise idx.download.DownloadError(
            'get_fashion_mnist: {}. Install Debian\'s dataset-fashion-mnist, or place {} in {}'
            .format(error, ', '.join(FASHION_MNIST.files), os.path.join(
                idx.download.get_dataset_root(), FASHION_MNIST.name))) from error
    return _datasets(arrays, withlabel, ndim, scale, dtype, label_dtype,
                     rgb_format)


def get_fashion_mnist_labels():
    """The names of Fashion-MNIST's classes, by label."""
    return _FASHION_LABELS
