"""Data-parallel training over MPI (ChainerMN's API): the only part of dchain that imports mpi4py.

    comm = dchain.distributed.create_communicator()
    optimizer = dchain.distributed.create_multi_node_optimizer(optimizers.Adam(), comm)
    train_iter = dchain.distributed.ShardedIterator(train, batch_size, comm)

Launched with ``mpirun -n N``, each rank trains on its slice of every global batch and the
gradients are averaged over ranks, weighted by samples; without MPI the same script runs on
one process.

The rule every part of this package follows: **every rank calls the same collectives in the
same order, and no rank-local event changes that sequence.** Saving a snapshot or an
optimizer, reporting, an extension that runs on rank 0 alone, a lazy first forward, an empty
shard: none of them may make one rank call a collective that the others do not. Where a
decision leads to a collective, every rank makes it from the same facts (the model's
structure, the global batch, the step number) or the ranks agree on it collectively (the
small exchange of sample counts and step flags each update makes before backward, see
``StepFlags``). Code built on this package (extensions, updaters, hooks) must follow the
rule too: a collective goes where every rank runs, never under ``if comm.rank == 0``.
"""
import os

from dchain.distributed.agreement import CollectiveMismatchError  # noqa: F401
from dchain.distributed.communicator import (CommunicatorBase, MpiCommunicator,  # noqa: F401
                                             SingleCommunicator)
from dchain.distributed.datasets import scatter_dataset  # noqa: F401
from dchain.distributed.describe import describe  # noqa: F401
from dchain.distributed.devices import rank_device  # noqa: F401
from dchain.distributed.evaluator import create_multi_node_evaluator  # noqa: F401
from dchain.distributed.iterators import ShardedIterator  # noqa: F401
from dchain.distributed.optimizer import (MultiNodeOptimizer, check_same_model,  # noqa: F401
                                          create_multi_node_optimizer)
from dchain.distributed.step_flags import StepFlags  # noqa: F401
from dchain.distributed import functions, links  # noqa: F401,E402
from dchain.distributed.datasets import create_empty_dataset  # noqa: F401,E402
from dchain.distributed.links import MultiNodeChainList  # noqa: F401,E402
# ChainerMN's names for checkpoints, iterators of model parallelism and observations
from dchain.distributed import compression, extensions  # noqa: F401
from dchain.distributed.checkpoint import create_multi_node_checkpointer  # noqa: F401
from dchain.distributed.datasets import scatter_index  # noqa: F401
from dchain.distributed.multi_node_iterator import (create_multi_node_iterator,  # noqa: F401
                                                    create_synchronized_iterator)
from dchain.distributed.observation import (MultiNodeEarlyStoppingTrigger,  # noqa: F401
                                            ObservationAggregator)
from dchain.distributed.links import (MultiNodeBatchNormalization,  # noqa: F401
                                      create_mnbn_model)
from dchain.distributed.persistent import AllreducePersistent  # noqa: F401

_MPI_ENV = ('PMI_RANK', 'PMI_SIZE', 'PMIX_RANK', 'OMPI_COMM_WORLD_SIZE', 'MPI_LOCALNRANKS',
            'PMI_FD', 'HYDI_CONTROL_FD')
_NAMES = {'single': 'single', 'mpi': 'mpi', 'naive': 'mpi', 'flat': 'mpi', 'nccl': 'nccl',
          'pure_nccl': 'nccl', 'auto': 'auto',
          # ChainerMN's other GPU communicators: NCCL with MPI between nodes, which 'nccl' is
          'hierarchical': 'nccl', 'two_dimensional': 'nccl', 'single_node': 'nccl',
          'non_cuda_aware': 'nccl'}


def launched_with_mpi():
    """True when this process was started by an MPI launcher (mpirun, mpiexec, srun)."""
    return any(name in os.environ for name in _MPI_ENV)


def create_communicator(communicator_name='auto', mpi_comm=None, timeout=None,
                        allreduce_grad_dtype=None, **kwargs):
    """Create a communicator.

    Args:
        communicator_name: ``'single'`` (one process, no MPI), ``'mpi'`` (aliases ``'naive'``,
            ``'flat'``), ``'nccl'`` (GPUs through CuPy's NCCL; aliases ChainerMN's GPU
            communicators ``'pure_nccl'``, ``'hierarchical'``, ``'two_dimensional'``,
            ``'single_node'``, ``'non_cuda_aware'``), or
            ``'auto'``: nccl when every rank has a GPU and NCCL is available, else mpi when
            launched under MPI with more than one process, else single.
        mpi_comm: the mpi4py communicator to use (COMM_WORLD when None).
        timeout: seconds before a collective that never completes aborts the job (default
            ``$DCHAIN_COLLECTIVE_TIMEOUT`` or 1800).
        allreduce_grad_dtype: the dtype gradients are exchanged in by the multi-node
            optimizer (None: their own). ``'float16'`` halves the bytes sent for float16's
            rounding of the gradient (see ``dchain.distributed.compression``).
    """
    comm = _create(communicator_name, mpi_comm, timeout, kwargs)
    comm.allreduce_grad_dtype = compression.grad_dtype(allreduce_grad_dtype)
    return comm


def _create(communicator_name, mpi_comm, timeout, kwargs):
    if communicator_name not in _NAMES:
        raise ValueError('create_communicator: communicator_name must be one of {}, got {!r}'
                         .format(', '.join(sorted(_NAMES)), communicator_name))
    name = _NAMES[communicator_name]
    if kwargs:
        raise TypeError('create_communicator: unexpected arguments {}'.format(
            ', '.join(sorted(kwargs))))
    if name == 'single':
        return SingleCommunicator()
    if name == 'auto':
        if mpi_comm is None and not launched_with_mpi():
            return SingleCommunicator()
        comm = MpiCommunicator(_import_mpi(communicator_name, mpi_comm), timeout)
        if comm.size == 1 and mpi_comm is None:
            return SingleCommunicator()
        if _nccl_usable(comm):
            from dchain.distributed.nccl_communicator import NcclCommunicator
            return NcclCommunicator(comm.mpi_comm, timeout)
        return comm
    mpi_comm = _import_mpi(communicator_name, mpi_comm)
    if name == 'nccl':
        from dchain.distributed.nccl_communicator import NcclCommunicator
        return NcclCommunicator(mpi_comm, timeout)
    return MpiCommunicator(mpi_comm, timeout)


def _import_mpi(communicator_name, mpi_comm):
    if mpi_comm is not None:
        return mpi_comm
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise RuntimeError("create_communicator({!r}): needs mpi4py, which could not be imported "
                           "({}); install it with pip install 'dchain[mpi]'".format(
                               communicator_name, error)) from None
    return MPI.COMM_WORLD


def _nccl_usable(comm):
    """True on every rank when every rank sees a GPU and CuPy has NCCL (decided together)."""
    from dchain import backend
    usable = False
    if os.environ.get('DCHAIN_NO_NCCL', '0') != '1' and backend.is_available():
        try:
            from cupy.cuda import nccl  # noqa: F401
            usable = nccl.available if hasattr(nccl, 'available') else True
        except Exception:
            usable = False
    return all(comm.allgather_obj(bool(usable)))
