"""Datasets (Chainer's ``chainer.datasets``): containers, views and MNIST.

- ``TupleDataset``, ``DictDataset``: equally long datasets read side by side.
- ``SubDataset``, ``split_dataset``, ``split_dataset_random``: views of parts of a dataset.
- ``TransformDataset``: examples passed through a function when read.
- ``get_mnist``, ``get_fashion_mnist``: the image sets, downloaded, checked and cached; offline
  ``get_mnist`` falls back to a bundled subset of 5,000 real digits.
- ``concat_examples``: the default converter (also in ``dchain.dataset``).
- ``get_cifar10``, ``get_cifar100``, ``get_ptb_words``, ``get_ptb_words_vocabulary``: Chainer's
  getters, downloaded with a checksum into ``$DCHAIN_DATASET_ROOT`` once per machine.
- ``HDF5Dataset``, ``NpyDataset``: arrays in files, read a batch at a time with ``take``.
- ``TextDataset``, ``ImageDataset``, ``LabeledImageDataset`` (Pillow: the ``image`` extra):
  examples read from files when asked for; ``split_dataset_n``, ``split_dataset_n_random``.
"""
from dchain.dataset.convert import concat_examples  # noqa: F401
from dchain.datasets.mnist import (DatasetFallbackWarning, get_fashion_mnist,  # noqa: F401
                                   get_fashion_mnist_labels, get_mnist)
from dchain.datasets.sub_dataset import (SubDataset, split_dataset,  # noqa: F401
                                         split_dataset_random)
from dchain.datasets.cifar import get_cifar10, get_cifar100  # noqa: F401
from dchain.datasets.image_dataset import ImageDataset, LabeledImageDataset  # noqa: F401
from dchain.datasets.ptb import get_ptb_words, get_ptb_words_vocabulary  # noqa: F401
from dchain.datasets.sub_dataset import split_dataset_n, split_dataset_n_random  # noqa: F401
from dchain.datasets.lazy import HDF5Dataset, NpyDataset  # noqa: F401
from dchain.datasets.text_dataset import TextDataset  # noqa: F401
from dchain.datasets.transform_dataset import TransformDataset  # noqa: F401
from dchain.datasets.tuple_dataset import DictDataset, TupleDataset  # noqa: F401
