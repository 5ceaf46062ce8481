"""Compressed gradient exchange (allreduce_grad_dtype): float16 sums on MPI, natively and
through the user-defined operation, and training that stays within float16's rounding of the
float32 exchange, the same on every rank. MPI tests pass at any number of ranks."""
import numpy
import pytest

import dchain
import dchain.links as L
from dchain import datasets, distributed, optimizers
from dchain.distributed import compression


def test_exchange_dtypes_are_parsed_and_bad_ones_refused():
    assert compression.grad_dtype(None) is None
    assert compression.grad_dtype('float16') == numpy.float16
    assert compression.grad_dtype('half') == numpy.float16
    assert compression.grad_dtype(numpy.float32) == numpy.float32
    with pytest.raises(ValueError, match='bfloat16.* neither NumPy nor CuPy has one'):
        compression.grad_dtype('bfloat16')
    with pytest.raises(ValueError, match="must be None, float16, float32 or float64, got 'int8'"):
        compression.grad_dtype('int8')
    comm = distributed.create_communicator('single', allreduce_grad_dtype='float16')
    assert comm.allreduce_grad_dtype == numpy.float16


@pytest.mark.mpi
@pytest.mark.parametrize('native', [True, False])
def test_float16_sums_natively_and_through_the_user_operation(native):
    comm = distributed.create_communicator('mpi')
    if not native:
        from mpi4py import MPI
        from dchain.distributed.communicator import _add_float16
        comm._half_op = (MPI.UINT16_T, MPI.Op.Create(_add_float16, commute=True))
    buffer = (numpy.arange(1000, dtype=numpy.float16) / 8 + comm.rank).astype(numpy.float16)
    comm.allreduce_inplace(buffer)
    expected = comm.size * numpy.arange(1000) / 8 + sum(range(comm.size))
    numpy.testing.assert_allclose(buffer.astype(numpy.float64), expected, rtol=2e-3)
    assert buffer.dtype == numpy.float16


def train(comm, steps=5):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((60, 6)).astype(numpy.float32)
    t = rng.integers(0, 3, 60).astype(numpy.int32)
    dchain.random.seed(0)
    model = L.Classifier(L.Linear(6, 3))
    optimizer = distributed.create_multi_node_optimizer(optimizers.MomentumSGD(lr=0.5), comm)
    optimizer.setup(model)
    iterator = distributed.ShardedIterator(datasets.TupleDataset(x, t), 11, comm, seed=1)
    for _ in range(steps):
        optimizer.update(model, *dchain.dataset.concat_examples(next(iterator)))
    return model.predictor.W.data.copy(), optimizer


@pytest.mark.mpi
def test_float16_exchange_stays_within_float16_rounding_of_float32():
    comm = distributed.create_communicator('mpi', allreduce_grad_dtype='float16')
    compressed, optimizer = train(comm)
    full, _ = train(distributed.create_communicator('mpi'))
    if comm.size > 1:
        dtypes = {key[-1] for key in optimizer._exchange._buffers}
        assert dtypes == {numpy.dtype(numpy.float16)}
        assert not numpy.array_equal(compressed, full)  # the rounding is there ...
    numpy.testing.assert_allclose(compressed, full, rtol=1e-2, atol=1e-3)  # ... and small
    everyone = comm.allgather_obj(compressed)
    assert all(numpy.array_equal(theirs, everyone[0]) for theirs in everyone)
