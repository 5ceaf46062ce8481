"""Chainer's ``chainer.dataset``: the dataset and iterator protocols, the default converter and
the dataset cache.

- ``concat_examples(batch, device=None, padding=None)``: examples -> batch arrays on a device.
- ``to_device(device, x)``: send arrays to a device.
- ``converter()``: decorator making ``f(batch, device)`` a ``Converter``; ``call_converter``
  calls a converter as the updaters do (a legacy plain function gets -1 or a GPU id).
- ``DatasetMixin``: list-like indexing from ``get_example``.
- ``Iterator``: the base of dataset iterators.
- ``get_dataset_root`` / ``set_dataset_root`` / ``get_dataset_directory``: where datasets are
  cached (``$DCHAIN_DATASET_ROOT``, default ``~/.dchain/dataset``).
- ``cached_download``, ``cache_or_load_file``: Chainer's helpers for getters, once per machine.
"""
from dchain.dataset import download  # noqa: F401
from dchain.dataset.convert import concat_examples, to_device  # noqa: F401
from dchain.dataset.convert import Converter, call_converter, converter  # noqa: F401
from dchain.dataset.dataset_mixin import DatasetMixin  # noqa: F401
from dchain.dataset.download import (get_dataset_directory, get_dataset_root,  # noqa: F401
                                     set_dataset_root)
from dchain.dataset.download import cache_or_load_file, cached_download  # noqa: F401
from dchain.dataset.iterator import Iterator  # noqa: F401
