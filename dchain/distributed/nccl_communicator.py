"""The 'nccl' communicator: GPU collectives through CuPy's NCCL bindings.

Arrays on the GPU are reduced and broadcast by NCCL on the current stream; the NCCL unique id
is created on rank 0 and broadcast over MPI. Host arrays and Python objects still go through
MPI. Every collective is first checked over MPI like the MPI communicator's (one tiny header
allreduce: same operation, dtype, count on every rank). Completion is awaited through the
same watchdog as MPI collectives, so a rank that never joins makes the job abort with a
message rather than hang.
"""
import numpy

from dchain import backend
from dchain.distributed.communicator import MpiCommunicator, _check_array, _check_op


class NcclCommunicator(MpiCommunicator):
    """Collectives on CuPy arrays over NCCL (one GPU per rank), the rest over MPI.

    The NCCL communicator is created on the first GPU collective, on the device current at
    that time: select the rank's GPU (``dchain.get_device('@cupy:{}'.format(comm.intra_rank))
    .use()``, done by ``dchain.distributed.rank_device``) before training.
    """

    name = 'nccl'

    bucketed_allreduce = None  # its exchange runs on a CUDA stream, not in MPI buckets

    def __init__(self, mpi_comm=None, timeout=None):
        super().__init__(mpi_comm, timeout)
        cupy = backend._require_cupy("create_communicator('nccl')")
        from cupy.cuda import nccl
        self._cupy = cupy
        self._nccl = nccl
        self._nccl_comm = None
        self._nccl_device = None

    def _ensure_nccl(self, call):
        device = self._cupy.cuda.Device().id
        if self._nccl_comm is None:
            # Made inside the first GPU collective, which every rank reaches at the same call.
            unique_id = self._nccl.get_unique_id() if self.rank == 0 else None
            unique_id = self._bcast_object(unique_id, 0, call)
            self._nccl_comm = self._nccl.NcclCommunicator(self.size, unique_id, self.rank)
            self._nccl_device = device
        elif device != self._nccl_device:
            raise RuntimeError('NcclCommunicator: the NCCL communicator was made on GPU {}, but '
                               'GPU {} is current now'.format(self._nccl_device, device))
        return self._nccl_comm

    def _nccl_type(self, dtype):
        nccl = self._nccl
        types = {numpy.dtype(numpy.float16): nccl.NCCL_FLOAT16,
                 numpy.dtype(numpy.float32): nccl.NCCL_FLOAT32,
                 numpy.dtype(numpy.float64): nccl.NCCL_FLOAT64,
                 numpy.dtype(numpy.int32): nccl.NCCL_INT32,
                 numpy.dtype(numpy.int64): nccl.NCCL_INT64,
                 numpy.dtype(numpy.uint8): nccl.NCCL_UINT8,
                 numpy.dtype(numpy.int8): nccl.NCCL_INT8}
        if dtype not in types:
            raise TypeError('NcclCommunicator: NCCL cannot reduce dtype {}'.format(dtype))
        return types[dtype]

    def _wait_stream(self, operation, call):
        stream = self._cupy.cuda.get_current_stream()
        event = stream.record()
        self._wait(lambda: event.done, operation, call)

    def _allreduce_inplace(self, buffer, op, call):
        """NCCL for GPU arrays, MPI for the rest (after the checked header, as for MPI)."""
        if not backend.is_gpu_array(buffer):
            return super()._allreduce_inplace(buffer, op, call)
        nccl = self._nccl
        comm = self._ensure_nccl(call)
        nccl_op = {'sum': nccl.NCCL_SUM, 'mean': nccl.NCCL_SUM, 'max': nccl.NCCL_MAX,
                   'min': nccl.NCCL_MIN}[op]
        stream = self._cupy.cuda.get_current_stream()
        comm.allReduce(buffer.data.ptr, buffer.data.ptr, buffer.size,
                       self._nccl_type(buffer.dtype), nccl_op, stream.ptr)
        self._wait_stream('allreduce', call)
        return self._finish(buffer, op)

    def allreduce(self, x, op='sum'):
        _check_op(op)
        _check_array('allreduce', x)
        if not backend.is_gpu_array(x):
            return super().allreduce(x, op)
        call = self.check_collective('allreduce', x.dtype, x.size, reduction=op)
        buffer = self._cupy.ascontiguousarray(x).copy()
        return self._allreduce_inplace(buffer, op, call)

    def bcast(self, x, root=0):
        (shape, dtype, on_gpu), call = self._bcast_meta(x, root)
        mine_on_gpu = backend.is_gpu_array(x) if x is not None else on_gpu
        if not (on_gpu and mine_on_gpu):
            return self._bcast_array(x, root, shape, dtype, call)
        comm = self._ensure_nccl(call)
        cupy = self._cupy
        buffer = cupy.ascontiguousarray(x).copy() if self.rank == root \
            else cupy.empty(shape, numpy.dtype(dtype))
        comm.bcast(buffer.data.ptr, buffer.size, self._nccl_type(buffer.dtype), root,
                   cupy.cuda.get_current_stream().ptr)
        self._wait_stream('bcast', call)
        return buffer
