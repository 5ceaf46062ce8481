"""Dataset iterators (Chainer's ``chainer.iterators``).

- ``SerialIterator``: reads mini-batches in the main thread, in order or shuffled.
- ``OrderSampler``, ``ShuffleOrderSampler``: the order of each epoch.

There is no MultithreadIterator or MultiprocessIterator: for in-memory datasets such as MNIST
a batch is gathered with one fancy index per array, which costs far less than the training
step it feeds, so prefetching it in another thread or process gains nothing measurable. For
data-parallel runs see ``dchain.distributed`` (ShardedIterator, scatter_dataset).
"""
from dchain.iterators.order_samplers import OrderSampler, ShuffleOrderSampler  # noqa: F401
from dchain.iterators.serial_iterator import SerialIterator  # noqa: F401
