"""Dataset iterators (Chainer's ``chainer.iterators``).

- ``SerialIterator``: reads mini-batches in the main thread, in order or shuffled.
- ``MultithreadIterator``: the same batches, the next one read ahead by threads.
- ``MultiprocessIterator``: the same batches, the next ``n_prefetch`` read ahead by worker
  processes (never forked once MPI is initialized).
- ``OrderSampler``, ``ShuffleOrderSampler``: the order of each epoch.

For in-memory datasets such as MNIST a batch is gathered with one fancy index per array:
about 0.07 ms for 100 random examples of a 60,000 x 784 float32 TupleDataset
(``concat_examples`` then reuses the gathered arrays), against about 17 ms for one CPU
training step of a 784-1000-1000-10 MLP, so prefetching pays only where reading an example
costs (files, decoding, augmentation). For data-parallel runs see ``dchain.distributed``
(ShardedIterator, with its own ``n_prefetch``, and scatter_dataset).
"""
from dchain.iterators.multiprocess_iterator import MultiprocessIterator  # noqa: F401
from dchain.iterators.multithread_iterator import MultithreadIterator  # noqa: F401
from dchain.iterators.order_samplers import OrderSampler, ShuffleOrderSampler  # noqa: F401
from dchain.iterators.serial_iterator import SerialIterator  # noqa: F401
