"""ImageDataset and LabeledImageDataset: image files read on demand (needs Pillow).

Pillow is an optional dependency: ``pip install 'dchain[image]'``.
"""
import os

import numpy

from dchain.config import config
from dchain.dataset.dataset_mixin import DatasetMixin


def _pillow(caller):
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("{} needs Pillow to read images: pip install 'dchain[image]' (or pip "
                          'install Pillow); importing it failed with: {}'.format(
                              caller, error)) from error
    return Image


def _dtype(caller, dtype):
    dtype = numpy.dtype(config.dtype or numpy.float32 if dtype is None else dtype)
    if dtype.kind not in 'fiu':
        raise TypeError('{}: dtype must be a numeric dtype, got {}'.format(caller, dtype))
    return dtype


def _read_image(image_module, path, dtype):
    with image_module.open(path) as image:
        array = numpy.asarray(image, dtype=dtype)
    if array.ndim == 2:  # greyscale: one channel
        array = array[:, :, None]
    return array.transpose(2, 0, 1)


class ImageDataset(DatasetMixin):
    """Images read from files when asked for, each an array ``(channels, height, width)``
    (1 channel for greyscale, 3 for RGB, 4 for RGBA), as Chainer's ``ImageDataset``.

    Args:
        paths (str or list of str): the image paths, or a text file listing one per line;
            relative to ``root``.
        root (str): the folder the paths start from.
        dtype: the array dtype (None: ``config.dtype``, else float32).

    Needs Pillow (``pip install 'dchain[image]'``). Images of one dataset must have the same
    shape and mode to be batched.
    """

    def __init__(self, paths, root='.', dtype=None):
        self._image = _pillow('ImageDataset')
        if isinstance(paths, (str, os.PathLike)):
            with open(paths) as file:
                paths = [line.strip() for line in file if line.strip()]
        self._paths = list(paths)
        self._root = root
        self._dtype = _dtype('ImageDataset', dtype)

    def __len__(self):
        return len(self._paths)

    def __getstate__(self):
        state = self.__dict__.copy()
        del state['_image']  # a module does not pickle
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._image = _pillow('ImageDataset')

    def get_example(self, i):
        """The ``i``-th image, ``(channels, height, width)``."""
        return _read_image(self._image, os.path.join(self._root, self._paths[i]), self._dtype)


class LabeledImageDataset(DatasetMixin):
    """(image, label) pairs: images read from files when asked for, as Chainer's
    ``LabeledImageDataset``.

    Args:
        pairs (str or list of (str, int)): (path, label) pairs, or a text file whose lines
            are ``path label`` (Caffe's format); paths relative to ``root``.
        root (str): the folder the paths start from.
        dtype: the image dtype (None: ``config.dtype``, else float32).
        label_dtype: the label dtype (int32).

    An example is ``(image (channels, height, width), label (a 0-d array))``. Needs Pillow
    (``pip install 'dchain[image]'``).
    """

    def __init__(self, pairs, root='.', dtype=None, label_dtype=numpy.int32):
        self._image = _pillow('LabeledImageDataset')
        if isinstance(pairs, (str, os.PathLike)):
            pairs = self._read_pairs(pairs)
        self._pairs = list(pairs)
        self._root = root
        self._dtype = _dtype('LabeledImageDataset', dtype)
        self._label_dtype = numpy.dtype(label_dtype)

    @staticmethod
    def _read_pairs(path):
        pairs = []
        with open(path) as file:
            for number, line in enumerate(file, 1):
                fields = line.split()
                if not fields:
                    continue
                try:
                    if len(fields) != 2:
                        raise ValueError
                    pairs.append((fields[0], int(fields[1])))
                except ValueError:
                    raise ValueError('LabeledImageDataset: line {} of {} must be "path label" '
                                     '(an int label), got {!r}'.format(
                                         number, path, line.rstrip('\n'))) from None
        return pairs

    def __len__(self):
        return len(self._pairs)

    def __getstate__(self):
        state = self.__dict__.copy()
        del state['_image']
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._image = _pillow('LabeledImageDataset')

    def get_example(self, i):
        """The ``i``-th (image, label)."""
        path, label = self._pairs[i]
        image = _read_image(self._image, os.path.join(self._root, path), self._dtype)
        return image, numpy.array(label, dtype=self._label_dtype)
