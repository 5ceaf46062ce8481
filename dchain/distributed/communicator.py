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
from dchain.distributed import agreement, watchdog
from dchain.distributed.array_collectives import ArrayCollectives

_CHUNK = 1 << 30  # bytes per message: MPI counts are 32-bit, so >2 GiB objects go in pieces
_OPS = ('sum', 'mean', 'max', 'min')
_P2P_TAG = 1024    # MPI tags of send/recv/sendrecv start here (send_bytes uses 1 and 2)
_P2P_TAGS = 16384  # user tags: MPI guarantees tags up to 32767


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


class CommunicatorBase(ArrayCollectives):
    """The interface shared by every communicator (ChainerMN's names).

    Attributes: ``rank``, ``size`` (all processes), ``intra_rank``, ``intra_size`` (on this
    node), ``inter_rank``, ``inter_size`` (node index and count), ``mpi_comm`` (the mpi4py
    communicator, or None for 'single'). Collectives on arrays of any shape (``allgather``,
    ``alltoall``, ``gather``, ``scatter``): ``array_collectives.ArrayCollectives``.
    """

    name = None
    allreduce_grad_dtype = None  # the dtype the multi-node optimizer exchanges gradients in

    def __repr__(self):
        return '<{} rank {} of {}>'.format(type(self).__name__, self.rank, self.size)

    def busy(self, what):
        """A context for long work outside collectives (rank 0 writing a snapshot): ranks that
        wait for this one meanwhile wait beyond the collective timeout instead of aborting."""
        return contextlib.nullcontext()

    # -- models ---------------------------------------------------------------------------------
    def bcast_data(self, model, root=0):
        """Overwrite every parameter and persistent value of ``model`` with ``root``'s.

        What is sent follows ``root``'s model alone (one object broadcast says which values
        are arrays), so a persistent array that another rank has not created yet (a lazily
        sized BatchNormalization that saw no sample) is created there instead of making that
        rank call different collectives.
        """
        for _, param in sorted(model.namedparams(include_uninit=False)):
            param.data[...] = self.bcast(param.data, root)
        links = sorted(model.namedlinks(), key=lambda item: item[0])
        persistents = [(link, name) for _, link in links for name in sorted(link._persistent)]
        kinds = [_is_array(link.__dict__[name]) for link, name in persistents]
        kinds = self.bcast_obj(kinds if self.rank == root else None, root=root)
        if len(kinds) != len(persistents):
            raise ValueError('bcast_data: rank {} has {} persistent values, rank {} has {}'
                             .format(root, len(kinds), self.rank, len(persistents)))
        scalars = {}
        for index, ((link, name), is_array) in enumerate(zip(persistents, kinds)):
            value = link.__dict__[name]
            if not is_array:
                scalars[index] = value
                continue
            received = self.bcast(value if self.rank == root or _is_array(value) else None, root)
            if _is_array(value) and value.shape == received.shape:
                value[...] = received
            else:
                link.__dict__[name] = link._device.send(received)
        scalars = self.bcast_obj(scalars, root=root)
        for index, value in scalars.items():
            link, name = persistents[index]
            link.__dict__[name] = value

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

    # -- point to point on arrays (ChainerMN's send/recv; distributed.functions build on them) --
    def send(self, data, dest, tag=0):
        """Send an array, or a tuple or list of arrays, to rank ``dest`` (see MpiCommunicator)."""
        raise ValueError('{}.send: a communicator of one process has no other rank to send '
                         'to (dest {})'.format(type(self).__name__, dest))

    def recv(self, source, tag=0):
        """Receive what rank ``source`` sent with ``send`` (see MpiCommunicator)."""
        raise ValueError('{}.recv: a communicator of one process has no other rank to receive '
                         'from (source {})'.format(type(self).__name__, source))

    def sendrecv(self, data, dest, source, tag=0):
        """Send ``data`` to ``dest`` while receiving from ``source`` (see MpiCommunicator)."""
        raise ValueError('{}.sendrecv: a communicator of one process has no other rank'.format(
            type(self).__name__))


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

    def allreduce_inplace(self, buffer, op='sum', tag=0, announce=None, announced=False):
        _check_op(op)
        return buffer

    def allreduce_deterministic(self, x):
        _check_array('allreduce_deterministic', x)
        return x.copy()

    def bcast(self, x, root=0):
        _check_root('bcast', root, 1)
        return x

    def bcast_obj(self, obj, max_buf_len=None, root=0):
        _check_root('bcast_obj', root, 1)
        return obj

    def gather_obj(self, obj, root=0):
        _check_root('gather_obj', root, 1)
        return [obj]

    def allgather_obj(self, obj, tag=0):
        return [obj]

    def allreduce_obj(self, obj):
        return obj

    def barrier(self):
        pass

    def reduce_scatter(self, x, out, counts):
        _check_counts('reduce_scatter', x, counts, 1)
        out[...] = x
        return out

    def allgatherv_inplace(self, buffer, counts):
        _check_counts('allgatherv_inplace', buffer, counts, 1)
        return buffer

    def expose(self, array):
        return _Exposed(array)

    def read_exposed(self, window, rank, out):
        out[...] = window.array
        return out

    def split(self, color, key):
        return SingleCommunicator()

    def check_collective(self, operation, dtype=None, count=None, root=None, reduction=None,
                         tag=0, announce=None, payload=None):
        """Nothing to agree on with one process."""
        return 0

    def check_same(self, operation, **values):
        """Nothing to compare with one process."""


def _add_float16(source, target, datatype):
    """A user-defined MPI operation: ``target += source`` on float16 words."""
    numpy.add(numpy.frombuffer(target, numpy.float16), numpy.frombuffer(source, numpy.float16),
              out=numpy.frombuffer(target, numpy.float16))


class _Exposed:
    """An array other ranks may read (an MPI window on MPI; the array itself on one rank)."""

    def __init__(self, array, window=None):
        self.array = array
        self.window = window

    def free(self):
        if self.window is not None:
            self.window.Free()
            self.window = None


def _check_counts(operation, buffer, counts, size):
    if len(counts) != size or sum(counts) != buffer.size:
        raise ValueError('{}: counts must give each of the {} ranks its part of the {} '
                         'elements, got {}'.format(operation, size, buffer.size, list(counts)))


def _is_array(value):
    return isinstance(value, numpy.ndarray) or backend.is_gpu_array(value)


def _check_root(operation, root, size):
    if not 0 <= root < size:
        raise ValueError('{}: root must be a rank in [0, {}), got {}'.format(operation, size, root))


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
        self._calls = 0
        self._announced = None
        self._exposed = []   # live windows, freed together at the program's end
        self._watchdog = watchdog.Watchdog(self._comm, self.timeout)
        self.cuda_aware = os.environ.get('DCHAIN_CUDA_AWARE_MPI', '0') == '1'
        if self.size > 1:
            watchdog.install_abort_on_error(MPI.COMM_WORLD.Get_rank())
            agreement.watch_exit(self)

    def busy(self, what):
        """See ``CommunicatorBase.busy``; ``what`` says in the waiting ranks' messages what
        this rank is doing."""
        return self._watchdog.busy(what)

    def _wait(self, request, operation, call=None):
        self._watchdog.wait(request, operation,
                            call if call is not None else self._watchdog.begin(operation))

    def check_collective(self, operation, dtype=None, count=None, root=None, reduction=None,
                         tag=0, announce=None, payload=None):
        """The one checked path every collective takes before its data moves: one tiny
        allreduce confirms that every rank calls ``operation`` as its next collective, with
        the same dtype, element count, root, reduction and ``tag`` (None: not known on this
        rank, matches anything). Raises ``CollectiveMismatchError`` on every rank otherwise.
        Returns the call number (the collectives of this communicator, counted from 1).

        ``announce=(dtype, count)`` also agrees on a sum-allreduce of that array that every
        rank makes later with ``allreduce_inplace(buffer, announced=True)``, without a header
        round trip of its own (the multi-node optimizer announces its gradient allreduce in
        the update's first exchange). Every rank must announce alike, and any collective
        between the two must be made by every rank alike (they are checked as usual).
        ``payload``: an int64 array of at most ``agreement.PAYLOAD`` values, replaced in place
        by its sum over the ranks, in the same round trip (the whole allreduce of a small
        exchange).
        """
        self._calls += 1
        call = self._calls
        if announce is not None:
            self._announced = (numpy.dtype(announce[0]), int(announce[1]))
        if self.size == 1:
            return call
        mine = agreement.header(operation, call, dtype, count, root, reduction, tag, announce)
        packed = agreement.pack(mine, payload)
        self._wait(self._comm.Iallreduce(self._MPI.IN_PLACE, packed, self._MPI.SUM),
                   operation, call)
        if agreement.agreed(packed):
            if payload is not None:
                payload[...] = agreement.payload_of(packed, len(payload))
            return call
        rows = numpy.empty((self.size, len(mine)), numpy.int64)
        self._wait(self._comm.Iallgather(mine, rows), operation, call)
        raise agreement.mismatch(operation, call, rows)

    def check_same(self, operation, **values):
        """Raise ValueError on every rank unless every rank passes the same ``values``
        (names to picklable values), naming the first that differs and each rank's value."""
        everyone = self.allgather_obj(values, tag=agreement.CHECK_SAME)
        error = agreement.different_values(operation, values, everyone)
        if error is not None:
            raise error

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

    def allreduce_inplace(self, buffer, op='sum', tag=0, announce=None, announced=False):
        """Reduce a contiguous array in place over all ranks (GPU arrays are staged through
        the host unless MPI is CUDA-aware). ``tag``: an int every rank must pass alike (e.g.
        an update number), checked with the call. ``announce``: agree on a later allreduce
        too (see ``check_collective``); ``announced``: this sum was agreed on in an earlier
        header, so it makes no header call."""
        _check_op(op)
        _check_array('allreduce_inplace', buffer)
        if announced:
            expected, self._announced = self._announced, None
            if op != 'sum' or expected != (buffer.dtype, buffer.size):
                raise RuntimeError('allreduce_inplace(announced=True): the announced allreduce '
                                   'was {}, this one is {} {}[{}]'.format(
                                       'none' if expected is None else '{}[{}]'.format(
                                           *expected), op, buffer.dtype, buffer.size))
            self._calls += 1
            return self._allreduce_inplace(buffer, op, self._calls)
        call = self.check_collective('allreduce', buffer.dtype, buffer.size, reduction=op,
                                     tag=tag, announce=announce)
        return self._allreduce_inplace(buffer, op, call)

    def bucketed_allreduce(self, dtype, count):
        """Begin the sum-allreduce announced in the last header (``announce=(dtype, count)``,
        see ``check_collective``) as a ``Buckets``: consecutive pieces of the array, each
        reduced in place by a non-blocking allreduce as soon as ``start`` is called on it, so
        that the exchange overlaps with other work (the multi-node optimizer's backward).
        Every rank must start pieces of the same sizes in the same order."""
        expected, self._announced = self._announced, None
        if expected != (numpy.dtype(dtype), int(count)):
            raise RuntimeError('bucketed_allreduce: the announced allreduce was {}, this one is '
                               '{}[{}]'.format('none' if expected is None else '{}[{}]'.format(
                                   *expected), numpy.dtype(dtype), count))
        self._calls += 1
        return Buckets(self, numpy.dtype(dtype), int(count), self._calls)

    def _allreduce_inplace(self, buffer, op, call):
        if backend.is_gpu_array(buffer) and not self.cuda_aware:
            host = buffer.get()
            self._allreduce_inplace(host, op, call)
            buffer.set(host)
            return buffer
        MPI = self._MPI
        mpi_op = {'sum': MPI.SUM, 'mean': MPI.SUM, 'max': MPI.MAX, 'min': MPI.MIN}[op]
        target = self._mpi_buffer(buffer)
        if buffer.dtype == numpy.float16 and op in ('sum', 'mean') and \
                not backend.is_gpu_array(buffer):
            target, mpi_op = self._float16_sum(buffer)
        request = self._comm.Iallreduce(MPI.IN_PLACE, target, mpi_op)
        self._wait(request, 'allreduce', call)
        return self._finish(buffer, op)

    def _float16_sum(self, buffer):
        """How MPI sums a float16 buffer: natively where mpi4py knows a half type (MPICH),
        else as 16-bit words with a user-defined operation that adds them as float16."""
        MPI = self._MPI
        if getattr(self, '_half_op', None) is None:
            try:
                from mpi4py.util import dtlib
                dtlib.from_numpy_dtype(numpy.float16)
                self._half_op = (None, MPI.SUM)
            except Exception:
                self._half_op = (MPI.UINT16_T, MPI.Op.Create(_add_float16, commute=True))
        datatype, mpi_op = self._half_op
        return (buffer if datatype is None else [buffer, datatype]), mpi_op

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
        call = self.check_collective('allreduce_deterministic', x.dtype, x.size)
        host = x.get() if backend.is_gpu_array(x) else numpy.ascontiguousarray(x)
        gathered = numpy.empty((self.size,) + host.shape, host.dtype)
        self._wait(self._comm.Iallgather(host, gathered), 'allreduce_deterministic', call)
        total = gathered[0].copy()
        for row in gathered[1:]:
            total += row
        return self._from_buffer(total, x)

    def allreduce(self, x, op='sum'):
        """Return the reduction (``'sum'``, ``'mean'``, ``'max'``, ``'min'``) of ``x`` over
        ranks, with ``x``'s dtype and device. (Integer means round down.)"""
        _check_op(op)
        _check_array('allreduce', x)
        call = self.check_collective('allreduce', x.dtype, x.size, reduction=op)
        buffer = self._to_buffer(x)
        self._allreduce_inplace(buffer, op, call)
        return self._from_buffer(buffer, x)

    def _bcast_meta(self, x, root):
        """Check the call (the root's dtype and size), then send the root's array metadata."""
        _check_root('bcast', root, self.size)
        if self.rank == root:
            _check_array('bcast', x)
            meta = (x.shape, x.dtype.str, backend.is_gpu_array(x))
            call = self.check_collective('bcast', x.dtype, x.size, root=root)
        else:
            meta = None
            call = self.check_collective('bcast', root=root)
        return self._bcast_object(meta, root, call), call

    def bcast(self, x, root=0):
        """Return ``root``'s array on every rank (other ranks may pass None)."""
        (shape, dtype, _), call = self._bcast_meta(x, root)
        return self._bcast_array(x, root, shape, dtype, call)

    def _bcast_array(self, x, root, shape, dtype, call):
        if self.rank == root:
            buffer = self._to_buffer(x)
        elif x is not None and backend.is_gpu_array(x) and self.cuda_aware:
            buffer = backend.get_array_module(x).empty(shape, numpy.dtype(dtype))
        else:
            buffer = numpy.empty(shape, numpy.float32 if dtype == '<f2' else numpy.dtype(dtype))
        request = self._comm.Ibcast(self._mpi_buffer(buffer), root)
        self._wait(request, 'bcast', call)
        if x is None:
            return buffer.astype(numpy.dtype(dtype), copy=False)
        return self._from_buffer(buffer, x)

    # -- Python objects (pickled, sent as bytes in chunks) ---------------------------------------
    def _bcast_bytes(self, payload, root, operation, call):
        length = numpy.array([0 if payload is None else len(payload)], numpy.int64)
        self._wait(self._comm.Ibcast(length, root), operation, call)
        data = payload if self.rank == root else bytearray(int(length[0]))
        view = memoryview(data)
        for start in range(0, int(length[0]), _CHUNK):
            piece = view[start:start + _CHUNK]
            self._wait(self._comm.Ibcast([piece, self._MPI.BYTE], root), operation, call)
        return bytes(data)

    def _bcast_object(self, obj, root, call, operation='bcast'):
        payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL) if self.rank == root \
            else None
        return pickle.loads(self._bcast_bytes(payload, root, operation, call))

    def bcast_obj(self, obj, max_buf_len=None, root=0):
        """Return ``root``'s object on every rank (any picklable object, any size)."""
        _check_root('bcast_obj', root, self.size)
        call = self.check_collective('bcast_obj', 'object', root=root)
        return self._bcast_object(obj, root, call, 'bcast_obj')

    def _gather_bytes(self, payload, root, operation, call):
        """Gather variable-length byte strings, to ``root`` (or to all when root is None)."""
        MPI = self._MPI
        lengths = numpy.zeros(self.size, numpy.int64)
        mine = numpy.array([len(payload)], numpy.int64)
        self._wait(self._comm.Iallgather(mine, lengths), operation, call)
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
            self._wait(request, operation, call)
            if receive:
                for r in range(self.size):
                    start = int(displacements[r])
                    buffers[r][sent[r]:sent[r] + counts[r]] = joined[start:start + counts[r]]
            sent += counts
        return buffers

    def _gather_objects(self, obj, root, operation, tag=0):
        call = self.check_collective(operation, 'object', root=root, tag=tag)
        buffers = self._gather_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), root,
                                     operation, call)
        return None if buffers is None else [pickle.loads(bytes(b)) for b in buffers]

    def gather_obj(self, obj, root=0):
        """A list of every rank's object on ``root`` (None on the others)."""
        _check_root('gather_obj', root, self.size)
        return self._gather_objects(obj, root, 'gather_obj')

    def allgather_obj(self, obj, tag=0):
        """A list of every rank's object, on every rank. ``tag``: an int every rank must pass
        alike (dchain's own calls pass one of ``agreement.PURPOSES``, so that two different
        ones met on two ranks are a clear mismatch, not one's objects read as the other's)."""
        return self._gather_objects(obj, None, 'allgather_obj', tag)

    def allreduce_obj(self, obj):
        """The sum (``+``) of every rank's object, added in rank order, on every rank."""
        return functools.reduce(operator.add, self._gather_objects(obj, None, 'allreduce_obj'))

    # -- sharded buffers (ZeRO): parts of one flat array, part r on rank r ------------------
    def reduce_scatter(self, x, out, counts):
        """Sum ``x`` (contiguous, host) over the ranks and keep this rank's part of the sum
        in ``out``: part r is ``counts[r]`` elements, the parts in rank order."""
        _check_counts('reduce_scatter', x, counts, self.size)
        MPI = self._MPI
        request = self._comm.Ireduce_scatter(x, out, [int(c) for c in counts], MPI.SUM)
        self._wait(request, 'reduce_scatter')
        return out

    def allgatherv_inplace(self, buffer, counts):
        """Give every rank every rank's part of ``buffer`` (part r, ``counts[r]`` elements,
        held by rank r), in place."""
        _check_counts('allgatherv_inplace', buffer, counts, self.size)
        MPI = self._MPI
        counts = [int(c) for c in counts]
        displacements = [sum(counts[:r]) for r in range(self.size)]
        request = self._comm.Iallgatherv(MPI.IN_PLACE, [buffer, (counts, displacements)])
        self._wait(request, 'allgatherv')
        return buffer

    def expose(self, array):
        """Let other ranks read ``array`` without taking part (an MPI window; collective:
        every rank calls it, in the same order)."""
        window = self._MPI.Win.Create(array, comm=self._comm)
        exposed = _Exposed(array, window)
        self._exposed.append(exposed)
        return exposed

    def free_exposed(self):
        """Free every window ``expose`` made that is still open (collective: every rank
        calls it; the program's end does, after the ranks agreed to exit). A window left
        open makes MPI's finalize print warnings ('destroying inuse region')."""
        for exposed in self._exposed:
            exposed.free()
        self._exposed = []

    def read_exposed(self, exposed, rank, out):
        """Copy ``rank``'s exposed array into ``out`` (one-sided: ``rank`` does not take
        part; it must not change the array meanwhile)."""
        MPI = self._MPI
        if rank == self.rank:
            out[...] = exposed.array
            return out
        window = exposed.window
        window.Lock(rank, MPI.LOCK_SHARED)
        window.Get(out, rank)
        window.Unlock(rank)
        return out

    def barrier(self):
        """Wait until every rank arrives (with the collective timeout)."""
        call = self.check_collective('barrier')
        self._wait(self._comm.Ibarrier(), 'barrier', call)

    def split(self, color, key):
        """A new communicator over the ranks that pass the same ``color``, ordered by ``key``."""
        self.check_collective('split')
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

    # -- point to point on arrays ------------------------------------------------------------
    # A message is a pickled header (tuple or not, shapes, dtypes, GPU or not), then each
    # array's bytes, all under MPI tag _P2P_TAG + tag: messages between two ranks on one tag
    # never overtake each other, so a header always precedes its arrays.
    def _p2p_check(self, operation, peer, argument, tag):
        if isinstance(peer, bool) or not isinstance(peer, (int, numpy.integer)) or \
                not 0 <= peer < self.size or peer == self.rank:
            raise ValueError('{}: {} must be another rank in [0, {}) than this one ({}), got {!r}'
                             .format(operation, argument, self.size, self.rank, peer))
        if isinstance(tag, bool) or not isinstance(tag, (int, numpy.integer)) or \
                not 0 <= tag < _P2P_TAGS:
            raise ValueError('{}: tag must be an int in [0, {}), got {!r}'.format(
                operation, _P2P_TAGS, tag))
        return int(peer), _P2P_TAG + int(tag)

    def _p2p_message(self, operation, data):
        arrays = tuple(data) if isinstance(data, (tuple, list)) else (data,)
        for x in arrays:
            if not (isinstance(x, numpy.ndarray) or backend.is_gpu_array(x)):
                raise TypeError('{}: data must be an array or a tuple of arrays, got {}'.format(
                    operation, type(x).__name__))
            if x.dtype.kind not in 'biufc':
                raise TypeError('{}: arrays of dtype {} cannot be sent; send numbers (bool, '
                                'integer, float or complex arrays)'.format(operation, x.dtype))
        header = (isinstance(data, (tuple, list)), [(x.shape, x.dtype.str) for x in arrays],
                  any(backend.is_gpu_array(x) for x in arrays))
        hosts = [numpy.ascontiguousarray(backend.to_cpu(x)) for x in arrays]
        return pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL), hosts

    def _p2p_buffers(self, header):
        is_tuple, specs, on_gpu = pickle.loads(header)
        return is_tuple, on_gpu, [numpy.empty(shape, numpy.dtype(dtype))
                                  for shape, dtype in specs]

    def _p2p_result(self, is_tuple, on_gpu, arrays):
        if on_gpu:  # where the sender's arrays were: on this rank's current GPU
            arrays = [backend.to_gpu(x) for x in arrays]
        return tuple(arrays) if is_tuple else arrays[0]

    def _p2p_exchange(self, operation, outgoing, dest, source, tag):
        """Send ``outgoing`` (header, arrays) to ``dest`` and/or receive from ``source`` at once
        (either may be None): started together, so two ranks exchanging never deadlock."""
        requests = []
        if outgoing is not None:
            header, hosts = outgoing
            length = numpy.array([len(header)], numpy.int64)
            requests.append(self._comm.Isend(length, dest, tag))
            requests.append(self._comm.Isend([header, self._MPI.BYTE], dest, tag))
            requests += [self._comm.Isend(x, dest, tag) for x in hosts if x.size]
        received = None
        if source is not None:
            length = numpy.zeros(1, numpy.int64)
            self._wait(self._comm.Irecv(length, source, tag), operation)
            header = bytearray(int(length[0]))
            self._wait(self._comm.Irecv([header, self._MPI.BYTE], source, tag), operation)
            received = self._p2p_buffers(bytes(header))
            for x in received[2]:
                if x.size:
                    self._wait(self._comm.Irecv(x, source, tag), operation)
        for request in requests:
            self._wait(request, operation)
        return None if received is None else self._p2p_result(*received)

    def send(self, data, dest, tag=0):
        """Send an array, or a tuple or list of arrays (any shapes and dtypes, NumPy or CuPy),
        to rank ``dest``; rank ``dest`` gets it with ``recv(source=this rank, tag=tag)``.
        Returns once the data is out of the arrays (they may be changed afterwards)."""
        dest, mpi_tag = self._p2p_check('send', dest, 'dest', tag)
        self._p2p_exchange('send', self._p2p_message('send', data), dest, None, mpi_tag)

    def recv(self, source, tag=0):
        """What rank ``source`` sent with ``send(..., dest=this rank, tag=tag)``: an array, or
        a tuple when a tuple or list was sent; on this rank's current GPU when the sender's
        arrays were on a GPU."""
        source, mpi_tag = self._p2p_check('recv', source, 'source', tag)
        return self._p2p_exchange('recv', None, None, source, mpi_tag)

    def sendrecv(self, data, dest, source, tag=0):
        """Send ``data`` to ``dest`` and return what ``source`` sends, both at once (a ring
        or pairwise exchange that cannot deadlock)."""
        dest, mpi_tag = self._p2p_check('sendrecv', dest, 'dest', tag)
        source, _ = self._p2p_check('sendrecv', source, 'source', tag)
        return self._p2p_exchange('sendrecv', self._p2p_message('sendrecv', data), dest, source,
                                  mpi_tag)


class Buckets:
    """A sum-allreduce in pieces (from ``MpiCommunicator.bucketed_allreduce``).

    ``start(piece)`` starts the non-blocking reduction of a contiguous array in place;
    ``test()`` lets MPI progress the started ones (MPI advances non-blocking collectives only
    inside MPI calls) and says whether all are done; ``wait()`` waits for every piece, which
    must add up to the announced size, and copies staged GPU pieces back.
    """

    def __init__(self, comm, dtype, count, call):
        self.comm, self.dtype, self.count, self.call = comm, dtype, count, call
        self.started = 0
        self.requests = []
        self.staged = []

    def start(self, piece):
        comm = self.comm
        if piece.dtype != self.dtype or self.started + piece.size > self.count or \
                not piece.flags.c_contiguous:
            raise RuntimeError('Buckets.start: expected contiguous {} pieces adding up to {} '
                               'elements; got {}[{}] after {}'.format(
                                   self.dtype, self.count, piece.dtype, piece.size, self.started))
        self.started += piece.size
        if backend.is_gpu_array(piece) and not comm.cuda_aware:
            host = piece.get()
            self.staged.append((piece, host))
            piece = host
        target, mpi_op = comm._mpi_buffer(piece), comm._MPI.SUM
        if piece.dtype == numpy.float16 and not backend.is_gpu_array(piece):
            target, mpi_op = comm._float16_sum(piece)
        self.requests.append(comm._comm.Iallreduce(comm._MPI.IN_PLACE, target, mpi_op))

    def test(self):
        return bool(self.comm._MPI.Request.Testall(self.requests))

    def wait(self):
        if self.started != self.count:
            raise RuntimeError('Buckets.wait: {} of the {} announced elements were started'
                               .format(self.started, self.count))
        self.comm._wait(self.requests, 'allreduce', self.call)
        for piece, host in self.staged:
            piece.set(host)
        self.staged = []
