"""Saving and loading links, optimizers and trainers in Chainer's npz and HDF5 layouts.

``save_npz('model.npz', model)`` / ``load_npz('model.npz', model)``; files written by Chainer
load into the same dchain model, and the reverse.
"""
from dchain.serializers.base import AbstractSerializer, Deserializer, Serializer  # noqa: F401
from dchain.serializers.hdf5 import (HDF5Deserializer, HDF5Serializer,  # noqa: F401
                                     load_hdf5, save_hdf5)
from dchain.serializers.npz import (DictionarySerializer, NpzDeserializer,  # noqa: F401
                                    load_npz, save_npz)
