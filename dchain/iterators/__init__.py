"""Dataset iterators (Chainer's ``chainer.iterators``).

- ``SerialIterator``: reads mini-batches in the main thread, in order or shuffled.
- ``OrderSampler``, ``ShuffleOrderSampler``: the order of each epoch.

There is no MultithreadIterator or MultiprocessIterator. For in-memory datasets such as MNIST
a batch is gathered with one fancy index per array: about 0.07 ms for 100 random examples of
a 60,000 x 784 float32 TupleDataset (``concat_examples`` then reuses the gathered arrays),
against about 17 ms for one CPU training step of a 784-1000-1000-10 MLP; a prefetching thread
changed the step time by less than its run-to-run noise. For data-parallel runs see
``dchain.distributed`` (ShardedIterator, scatter_dataset).
"""
from dchain.iterators.order_samplers import OrderSampler, ShuffleOrderSampler  # noqa: F401
from dchain.iterators.serial_iterator import SerialIterator  # noqa: F401
