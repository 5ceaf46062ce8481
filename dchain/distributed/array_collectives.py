"""ChainerMN's collectives on arrays whose shapes may differ between ranks: ``allgather``,
``alltoall``, ``gather`` and ``scatter``, methods of every communicator.

They are built on the communicator's checked object collectives and point-to-point exchange
(``alltoall`` and ``scatter`` are announced with ``check_collective`` first), so they share
the agreement checks and the timeout; the differentiable versions in
``distributed.functions`` call them. Arrays travel through the host and come back on the
device of this rank's argument.
"""
import numpy

from dchain import backend


def on_device_of(array, reference):
    """``array`` (from the host) on the device of ``reference``."""
    if backend.is_gpu_array(reference):
        with reference.device:
            return backend.get_array_module(reference).asarray(array)
    return backend.to_cpu(array)


def _check_array(operation, argument, x):
    if not (isinstance(x, numpy.ndarray) or backend.is_gpu_array(x)):
        raise TypeError('{}: {} must be a numpy or cupy array, got {}'.format(
            operation, argument, type(x).__name__))


def _check_per_rank(operation, xs, size):
    if not isinstance(xs, (tuple, list, numpy.ndarray)) and not backend.is_gpu_array(xs) or \
            len(xs) != size:
        raise ValueError('{}: xs must hold comm.size ({}) arrays, one per rank, got {}'.format(
            operation, size, len(xs) if hasattr(xs, '__len__') else type(xs).__name__))
    for x in xs:
        _check_array(operation, 'xs', x)


class ArrayCollectives:
    """The array collectives of ``CommunicatorBase`` (ChainerMN's names and results)."""

    def allgather(self, x):
        """Every rank's array ``x``, in rank order, on every rank: a tuple of ``size``
        arrays (shapes and dtypes may differ between ranks)."""
        _check_array('allgather', 'x', x)
        return tuple(on_device_of(y, x) for y in self.allgather_obj(backend.to_cpu(x)))

    def alltoall(self, xs):
        """Give ``xs[r]`` to rank ``r``; returns a tuple of what each rank gave this one, by
        rank. ``xs``: ``size`` arrays (any shapes and dtypes). Pairwise exchanges,
        ``size - 1`` steps of one send and one receive each."""
        _check_per_rank('alltoall', xs, self.size)
        self.check_collective('alltoall')
        ys = [None] * self.size
        ys[self.rank] = xs[self.rank]
        for step in range(1, self.size):
            dest = (self.rank + step) % self.size
            source = (self.rank - step) % self.size
            ys[source] = on_device_of(self.sendrecv(xs[dest], dest, source), xs[dest])
        return tuple(ys)

    def gather(self, x, root=0):
        """On ``root``, a tuple of every rank's array ``x`` in rank order (shapes may differ);
        None on the other ranks."""
        _check_array('gather', 'x', x)
        gathered = self.gather_obj(backend.to_cpu(x), root=root)
        return None if gathered is None else tuple(on_device_of(y, x) for y in gathered)

    def scatter(self, xs, root=0):
        """Give ``xs[r]`` of rank ``root`` to rank ``r``; returns this rank's array. ``xs``:
        on ``root``, ``size`` arrays (a tuple, a list, or an array whose first axis has
        ``size`` entries); ignored (may be None) on the other ranks."""
        if isinstance(root, bool) or not isinstance(root, (int, numpy.integer)) or \
                not 0 <= root < self.size:
            raise ValueError('scatter: root must be a rank in [0, {}), got {!r}'.format(
                self.size, root))
        if self.rank == root:
            _check_per_rank('scatter', xs, self.size)
        self.check_collective('scatter', root=int(root))
        if self.rank != root:
            return self.recv(int(root))
        for rank in range(self.size):
            if rank != root:
                self.send(xs[rank], rank)
        return xs[root].copy()
