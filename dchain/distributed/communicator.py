"""Communicators: who the ranks are, and collectives on arrays and Python objects.

``SingleCommunicator`` is the size-1 communicator that needs no MPI at all.
``MpiCommunicator`` runs every collective non-blocking and waits through the watchdog, so a
collective that never completes aborts the job with a message instead of hanging it. GPU
arrays go through CUDA-aware MPI when the MPI library has it, otherwise through host copies.
"""
import contextlib
import functools
import operator
import os
import pickle

import numpy

from dchain import backend
from dchain.distributed import watchdog

_CHUNK = 1 << 30  # bytes per message: MPI counts are 32-bit, so >2 GiB objects go in pieces
_OPS = ('sum', 'mean', 'max', 'min')


def _check_op(op):
    if op not in _OPS:
        raise ValueError("allreduce: op must be one of {}, got {!r}".format(', '.join(_OPS), op))


def _check_array(operation, x):
    if not (isinstance(x, numpy.ndarray) or backend.is_gpu_array(x)):
        raise TypeError('{}: expected a numpy or cupy array, got {}'.format(
            operation, type(x).__name__))
    if x.dtype.kind not in 'fiub':
        raise TypeError('{}: arrays of dtype {} cannot be reduced; use float or integer '
                        'arrays'.format(operation, x.dtype))


class CommunicatorBase:
    """The interface shared by every communicator (ChainerMN's names).

    Attributes: ``rank``, ``size`` (all processes), ``intra_rank``, ``intra_size`` (on this
    node), ``inter_rank``, ``inter_size`` (node index and count), ``mpi_comm`` (the mpi4py
    communicator, or None for 'single').
    """

    name = None

    def __repr__(self):
        return '<{} rank {} of {}>'.format(type(self).__name__, self.rank, self.size)

    def busy(self, what):
        """A context for long work outside collectives (rank 0 writing a snapshot): ranks that
        wait for this one meanwhile wait beyond the collective timeout instead of aborting."""
        return contextlib.nullcontext()

    # -- models ---------------------------------------------------------------------------------
    def bcast_data(self, model, root=0):
        """Overwrite every parameter and persistent array of ``model`` with ``root``'s."""
        for _, param in sorted(model.namedparams(include_uninit=False)):
            param.data[...] = self.bcast(param.data, root)
        for link_path, link in sorted(model.namedlinks(), key=lambda item: item[0]):
            for name in link._persistent:
                value = link.__dict__[name]
                if isinstance(value, numpy.ndarray) or backend.is_gpu_array(value):
                    value[...] = self.bcast(value, root)
                else:
                    link.__dict__[name] = self.bcast_obj(value, root=root)

    def multi_node_mean_grad(self, model, zero_fill=False):
        """Average every parameter's gradient over the ranks, in place.

        ``zero_fill``: a parameter with no gradient on this rank counts as zeros (otherwise
        every rank must have the same set of gradients).
        """
        params = [p for _, p in sorted(model.namedparams(include_uninit=False))]
        for param in params:
            if param.grad is None:
                if not zero_fill:
                    raise ValueError('multi_node_mean_grad: parameter {} has no gradient on rank '
                                     '{}; pass zero_fill=True'.format(param.name, self.rank))
                param.grad = param.xp.zeros_like(param.data)
            param.grad = self.allreduce(param.grad, 'mean')


class SingleCommunicator(CommunicatorBase):
    """A communicator of one process: every collective returns its input. Needs no MPI."""

    name = 'single'
    rank = intra_rank = inter_rank = 0
    size = intra_size = inter_size = 1
    mpi_comm = None

    def allreduce(self, x, op='sum'):
        _check_op(op)
        _check_array('allreduce', x)
        return x.copy()

    def allreduce_inplace(self, buffer, op='sum'):
        _check_op(op)
        return buffer

    def allreduce_deterministic(self, x):
        _check_array('allreduce_deterministic', x)
        return x.copy()

    def bcast(self, x, root=0):
        _check_root(root, 1)
        return x

    def bcast_obj(self, obj, max_buf_len=None, root=0):
        _check_root(root, 1)
        return obj

    def gather_obj(self, obj, root=0):
        _check_root(root, 1)
        return [obj]

    def allgather_obj(self, obj):
        return [obj]

    def allreduce_obj(self, obj):
        return obj

    def barrier(self):
        pass

    def split(self, color, key):
        return SingleCommunicator()


def _check_root(root, size):
    if not 0 <= root < size:
        raise ValueError('root must be a rank in [0, {}), got {}'.format(size, root))


class MpiCommunicator(CommunicatorBase):
    """Collectives over MPI (mpi4py), with the watchdog's timeout on every wait.

    Args:
        mpi_comm: an mpi4py communicator (COMM_WORLD when None).
        timeout: seconds before a stuck collective aborts the job (None: the environment's
            DCHAIN_COLLECTIVE_TIMEOUT, else 1800).
    """

    name = 'mpi'

    def __init__(self, mpi_comm=None, timeout=None):
        from mpi4py import MPI
        self._MPI = MPI
        self.mpi_comm = MPI.COMM_WORLD if mpi_comm is None else mpi_comm
        self._comm = self.mpi_comm.Dup()  # dchain's own traffic never matches the user's
        self.rank = self._comm.Get_rank()
        self.size = self._comm.Get_size()
        node = self._comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.intra_rank = node.Get_rank()
        self.intra_size = node.Get_size()
        node.Free()
        inter = self._comm.Split(self.intra_rank, self.rank)
        self.inter_rank = inter.Get_rank()
        self.inter_size = inter.Get_size()
        inter.Free()
        self.timeout = watchdog.timeout_from_env(timeout)
        self._watchdog = watchdog.Watchdog(self._comm, self.timeout)
        self.cuda_aware = os.environ.get('DCHAIN_CUDA_AWARE_MPI', '0') == '1'
        if self.size > 1:
            watchdog.install_abort_on_error(MPI.COMM_WORLD.Get_rank())

    def busy(self, what):
        """See ``CommunicatorBase.busy``; ``what`` says in the waiting ranks' messages what
        this rank is doing."""
        return self._watchdog.busy(what)

    def _wait(self, request, operation):
        self._watchdog.wait(request, operation, self._watchdog.begin(operation))

    # -- arrays ------------------------------------------------------------------------------------
    def _to_buffer(self, x):
        """A contiguous host (or, with CUDA-aware MPI, device) array MPI can reduce in place.

        float16 is reduced in float32: MPI has no portable half type, and the sum is better.
        """
        if backend.is_gpu_array(x) and not self.cuda_aware:
            x = x.get()
        xp = backend.get_array_module(x)
        if x.dtype == numpy.float16:
            return xp.ascontiguousarray(x, dtype=numpy.float32)
        return xp.array(x, copy=True, order='C')

    def _from_buffer(self, buffer, like):
        buffer = buffer.astype(like.dtype, copy=False)
        if backend.is_gpu_array(like) and not backend.is_gpu_array(buffer):
            with like.device:
                return backend.get_array_module(like).asarray(buffer)
        return buffer

    def _mpi_buffer(self, x):
        if backend.is_gpu_array(x):
            self._synchronize(x)
        return x

    def _synchronize(self, x):
        backend.get_array_module(x).cuda.get_current_stream().synchronize()

    def allreduce_inplace(self, buffer, op='sum'):
        """Reduce a contiguous array in place over all ranks (GPU arrays are staged through
        the host unless MPI is CUDA-aware)."""
        if backend.is_gpu_array(buffer) and not self.cuda_aware:
            host = buffer.get()
            self.allreduce_inplace(host, op)
            buffer.set(host)
            return buffer
        MPI = self._MPI
        mpi_op = {'sum': MPI.SUM, 'mean': MPI.SUM, 'max': MPI.MAX, 'min': MPI.MIN}[op]
        request = self._comm.Iallreduce(MPI.IN_PLACE, self._mpi_buffer(buffer), mpi_op)
        self._wait(request, 'allreduce')
        return self._finish(buffer, op)

    def _finish(self, buffer, op):
        """Turn the reduced sum into a mean when asked (integers round down)."""
        if op == 'mean':
            if buffer.dtype.kind == 'f':
                buffer /= self.size
            else:
                buffer //= self.size
        return buffer

    def allreduce_deterministic(self, x):
        """The sum of ``x`` over ranks, added in rank order: bitwise the same on every rank
        and from run to run (it gathers every rank's array first)."""
        _check_array('allreduce_deterministic', x)
        host = x.get() if backend.is_gpu_array(x) else numpy.ascontiguousarray(x)
        gathered = numpy.empty((self.size,) + host.shape, host.dtype)
        self._wait(self._comm.Iallgather(host, gathered), 'allreduce_deterministic')
        total = gathered[0].copy()
        for row in gathered[1:]:
            total += row
        return self._from_buffer(total, x)

    def allreduce(self, x, op='sum'):
        """Return the reduction (``'sum'``, ``'mean'``, ``'max'``, ``'min'``) of ``x`` over
        ranks, with ``x``'s dtype and device. (Integer means round down.)"""
        _check_op(op)
        _check_array('allreduce', x)
        buffer = self._to_buffer(x)
        self.allreduce_inplace(buffer, op)
        return self._from_buffer(buffer, x)

    def bcast(self, x, root=0):
        """Return ``root``'s array on every rank (other ranks may pass None)."""
        _check_root(root, self.size)
        if self.rank == root:
            _check_array('bcast', x)
            meta = (x.shape, x.dtype.str, backend.is_gpu_array(x))
        else:
            meta = None
        shape, dtype, _ = self.bcast_obj(meta, root=root)
        if self.rank == root:
            buffer = self._to_buffer(x)
        elif x is not None and backend.is_gpu_array(x) and self.cuda_aware:
            buffer = backend.get_array_module(x).empty(shape, numpy.dtype(dtype))
        else:
            buffer = numpy.empty(shape, numpy.float32 if dtype == '<f2' else numpy.dtype(dtype))
        request = self._comm.Ibcast(self._mpi_buffer(buffer), root)
        self._wait(request, 'bcast')
        if x is None:
            return buffer.astype(numpy.dtype(dtype), copy=False)
        return self._from_buffer(buffer, x)

    # -- Python objects (pickled, sent as bytes in chunks) ---------------------------------------
    def _bcast_bytes(self, payload, root, operation):
        length = numpy.array([0 if payload is None else len(payload)], numpy.int64)
        self._wait(self._comm.Ibcast(length, root), operation)
        data = payload if self.rank == root else bytearray(int(length[0]))
        view = memoryview(data)
        for start in range(0, int(length[0]), _CHUNK):
            piece = view[start:start + _CHUNK]
            self._wait(self._comm.Ibcast([piece, self._MPI.BYTE], root), operation)
        return bytes(data)

    def bcast_obj(self, obj, max_buf_len=None, root=0):
        """Return ``root``'s object on every rank (any picklable object, any size)."""
        _check_root(root, self.size)
        payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL) if self.rank == root \
            else None
        return pickle.loads(self._bcast_bytes(payload, root, 'bcast_obj'))

    def _gather_bytes(self, payload, root, operation):
        """Gather variable-length byte strings, to ``root`` (or to all when root is None)."""
        MPI = self._MPI
        lengths = numpy.zeros(self.size, numpy.int64)
        mine = numpy.array([len(payload)], numpy.int64)
        self._wait(self._comm.Iallgather(mine, lengths), operation)
        receive = root is None or self.rank == root
        buffers = [bytearray(int(n)) for n in lengths] if receive else None
        sent = numpy.zeros(self.size, numpy.int64)
        source = memoryview(payload)
        while (sent < lengths).any():
            counts = numpy.minimum(lengths - sent, _CHUNK // self.size)
            piece = source[sent[self.rank]:sent[self.rank] + counts[self.rank]]
            displacements = numpy.concatenate([[0], numpy.cumsum(counts)[:-1]])
            joined = bytearray(int(counts.sum())) if receive else None
            spec = [joined, (counts.tolist(), displacements.tolist()), MPI.BYTE] \
                if receive else None
            if root is None:
                request = self._comm.Iallgatherv([piece, MPI.BYTE], spec)
            else:
                request = self._comm.Igatherv([piece, MPI.BYTE], spec, root)
            self._wait(request, operation)
            if receive:
                for r in range(self.size):
                    start = int(displacements[r])
                    buffers[r][sent[r]:sent[r] + counts[r]] = joined[start:start + counts[r]]
            sent += counts
        return buffers

    def gather_obj(self, obj, root=0):
        """A list of every rank's object on ``root`` (None on the others)."""
        _check_root(root, self.size)
        buffers = self._gather_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), root,
                                     'gather_obj')
        return None if buffers is None else [pickle.loads(bytes(b)) for b in buffers]

    def allgather_obj(self, obj):
        """A list of every rank's object, on every rank."""
        buffers = self._gather_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), None,
                                     'allgather_obj')
        return [pickle.loads(bytes(b)) for b in buffers]

    def allreduce_obj(self, obj):
        """The sum (``+``) of every rank's object, added in rank order, on every rank."""
        return functools.reduce(operator.add, self.allgather_obj(obj))

    def barrier(self):
        """Wait until every rank arrives (with the collective timeout)."""
        self._wait(self._comm.Ibarrier(), 'barrier')

    def split(self, color, key):
        """A new communicator over the ranks that pass the same ``color``, ordered by ``key``."""
        return type(self)(self._comm.Split(color, key), timeout=self.timeout)

    # -- point to point (used by scatter_dataset) ------------------------------------------------
    def send_bytes(self, payload, dest, operation):
        """Send a byte string of any size to ``dest``."""
        MPI = self._MPI
        length = numpy.array([len(payload)], numpy.int64)
        self._wait(self._comm.Isend(length, dest, 1), operation)
        view = memoryview(payload)
        for start in range(0, len(payload), _CHUNK):
            self._wait(self._comm.Isend([view[start:start + _CHUNK], MPI.BYTE], dest, 2),
                       operation)

    def recv_bytes(self, source, operation):
        """Receive a byte string sent with ``send_bytes``."""
        MPI = self._MPI
        length = numpy.zeros(1, numpy.int64)
        self._wait(self._comm.Irecv(length, source, 1), operation)
        data = bytearray(int(length[0]))
        view = memoryview(data)
        for start in range(0, len(data), _CHUNK):
            self._wait(self._comm.Irecv([view[start:start + _CHUNK], MPI.BYTE], source, 2),
                       operation)
        return bytes(data)
