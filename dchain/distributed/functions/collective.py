"""Differentiable collectives over all ranks (ChainerMN's ``functions.bcast``, ``gather``,
``scatter``, ``allgather``, ``alltoall``). Every rank must call them in the same order,
forward and backward: their backward passes communicate too."""
import numpy

from dchain import backend
from dchain.distributed.array_collectives import on_device_of as _like
from dchain.function_node import FunctionNode
from dchain.variable import Variable


def _check_comm(function, comm):
    for name in ('rank', 'size', 'allgather', 'alltoall', 'bcast', 'allreduce'):
        if not hasattr(comm, name):
            raise TypeError('{}: comm must be a communicator (distributed.create_communicator), '
                            'got {}'.format(function, type(comm).__name__))


def _check_root(function, comm, root):
    if isinstance(root, bool) or not isinstance(root, (int, numpy.integer)) or \
            not 0 <= root < comm.size:
        raise ValueError('{}: root must be a rank in [0, {}), got {!r}'.format(
            function, comm.size, root))


class AllGather(FunctionNode):
    """x on each rank -> every rank's x, on every rank."""

    def __init__(self, comm):
        self.comm = comm

    def forward(self, inputs):
        x, = inputs
        ys = self.comm.allgather(x)
        self._shapes = [y.shape for y in ys]
        return ys

    def backward(self, indexes, grad_outputs):
        x = self.inputs[0].array
        xp = backend.get_array_module(x)
        # the gradient of rank r's copy of my x is on rank r: send each its share, then sum
        gys = [xp.zeros(shape, x.dtype) if g is None else g.array
               for g, shape in zip(grad_outputs, self._shapes)]
        gxs = self.comm.alltoall(gys)
        gx = gxs[0].copy()
        for g in gxs[1:]:
            gx += g
        return gx,


class AllToAll(FunctionNode):
    """xs[r] on each rank goes to rank r; ys[r] is what rank r gave this one."""

    def __init__(self, comm):
        self.comm = comm

    def forward(self, inputs):
        ys = self.comm.alltoall(inputs)
        self._specs = [(y.shape, y.dtype) for y in ys]
        return ys

    def backward(self, indexes, grad_outputs):
        xp = backend.get_array_module(*[x.array for x in self.inputs])
        gys = [xp.zeros(shape, dtype) if g is None else g.array
               for g, (shape, dtype) in zip(grad_outputs, self._specs)]
        return self.comm.alltoall(gys)


class Bcast(FunctionNode):
    """root's x on every rank; backward sums every rank's gradient into root's x."""

    def __init__(self, comm, root):
        self.comm = comm
        self.root = root

    def forward(self, inputs):
        x, = inputs
        y = self.comm.bcast(x if self.comm.rank == self.root else None, self.root)
        self._spec = y.shape, y.dtype, backend.get_array_module(y)
        return y,

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        shape, dtype, xp = self._spec
        gy = xp.zeros(shape, dtype) if gy is None else gy.array
        total = self.comm.allreduce(gy, 'sum')
        if self.comm.rank != self.root:
            return None,
        return _like(total, self.inputs[0].array),


class Gather(FunctionNode):
    """x on each rank -> every rank's x on root; an empty delegate variable elsewhere."""

    def __init__(self, comm, root):
        self.comm = comm
        self.root = root

    def forward(self, inputs):
        x, = inputs
        gathered = self.comm.gather_obj(backend.to_cpu(x), root=self.root)
        if self.comm.rank != self.root:
            return backend.get_array_module(x).zeros((0,), x.dtype),
        ys = tuple(_like(y, x) for y in gathered)
        self._shapes = [y.shape for y in ys]
        return ys

    def backward(self, indexes, grad_outputs):
        x = self.inputs[0].array
        xp = backend.get_array_module(x)
        if self.comm.rank != self.root:
            return _like(self.comm.recv(self.root), x),
        gys = [xp.zeros(shape, x.dtype) if g is None else g.array
               for g, shape in zip(grad_outputs, self._shapes)]
        for rank, gy in enumerate(gys):
            if rank != self.root:
                self.comm.send(gy, rank)
        return gys[self.root],


class Scatter(FunctionNode):
    """xs (one per rank) on root -> xs[r] on rank r."""

    def __init__(self, comm, root):
        self.comm = comm
        self.root = root

    def forward(self, inputs):
        comm = self.comm
        if comm.rank == self.root:
            for rank, x in enumerate(inputs):
                if rank != self.root:
                    comm.send(x, rank)
            y = inputs[self.root]
        else:
            y = comm.recv(self.root)   # on this rank's GPU when root's arrays were on one
        self._spec = y.shape, y.dtype, backend.get_array_module(y)
        return y,

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        shape, dtype, xp = self._spec
        gy = xp.zeros(shape, dtype) if gy is None else gy.array
        gathered = self.comm.gather_obj(backend.to_cpu(gy), root=self.root)
        if self.comm.rank != self.root:
            return None,
        return tuple(_like(g, x.array) for g, x in zip(gathered, self.inputs))


def gather(comm, x, root=0):
    """Gather ``x`` of every rank onto rank ``root``; differentiable.

    Backward sends each rank the gradient of its ``x`` from root: a rank other than root
    calls ``backward()`` on the empty variable it got, and root on its loss.

    Args:
        comm: the communicator.
        x (Variable or array): this rank's array (shapes may differ between ranks).
        root (int): the gathering rank.

    Returns:
        On root, a tuple of Variables (every rank's ``x``, in rank order); on the other
        ranks, an empty float Variable that holds the graph (a delegate variable).
    """
    _check_comm('gather', comm)
    _check_root('gather', comm, root)
    outputs = Gather(comm, root).apply((x,))
    return outputs if comm.rank == root else outputs[0]


def scatter(comm, xs, root=0):
    """Give ``xs[r]`` of rank ``root`` to rank ``r``; differentiable.

    Backward gathers every rank's gradient into the gradients of root's ``xs``.

    Args:
        comm: the communicator.
        xs (tuple of Variables or arrays): on root, ``comm.size`` arrays, the r-th for rank
            r; ignored (may be None) on the other ranks.
        root (int): the scattering rank.

    Returns:
        Variable: the array for this rank.
    """
    _check_comm('scatter', comm)
    _check_root('scatter', comm, root)
    if comm.rank == root:
        if not isinstance(xs, (tuple, list)) or len(xs) != comm.size:
            raise ValueError('scatter: xs must be a tuple of comm.size ({}) arrays on the root '
                             'rank, got {}'.format(comm.size, len(xs) if isinstance(
                                 xs, (tuple, list)) else type(xs).__name__))
        inputs = tuple(xs)
    else:
        # a dummy input that needs a gradient: this rank's backward must take part too
        inputs = (Variable(numpy.zeros((0,), numpy.float32)),)
    y, = Scatter(comm, root).apply(inputs)
    return y


def allgather(comm, x):
    """Gather ``x`` from every rank onto every rank; differentiable.

    Backward sends the gradient of each gathered array back to the rank it came from, where
    the gradients from all ranks are summed.

    Args:
        comm: the communicator.
        x (Variable or array): this rank's array (shapes may differ between ranks; dtypes
            must agree).

    Returns:
        tuple of Variables: every rank's ``x``, in rank order, on ``x``'s device.
    """
    _check_comm('allgather', comm)
    node = AllGather(comm)
    return node.apply((x,))


def alltoall(comm, xs):
    """Give ``xs[r]`` to rank ``r`` and receive one array from each rank; differentiable.

    Backward sends the gradients back the same way.

    Args:
        comm: the communicator.
        xs (tuple of Variables or arrays): ``comm.size`` arrays, the r-th for rank r.

    Returns:
        tuple of Variables: the r-th is what rank r gave this rank.
    """
    _check_comm('alltoall', comm)
    if not isinstance(xs, (tuple, list)) or len(xs) != comm.size:
        raise ValueError('alltoall: xs must be a tuple of comm.size ({}) arrays, got {}'.format(
            comm.size, len(xs) if isinstance(xs, (tuple, list)) else type(xs).__name__))
    return AllToAll(comm).apply(tuple(xs))


def bcast(comm, x, root=0):
    """``x`` of rank ``root`` on every rank; differentiable.

    Backward sums the gradients of every rank's copy into the gradient of root's ``x``.

    Args:
        comm: the communicator.
        x (Variable or array): the array to broadcast on ``root``; ignored (may be None) on
            the other ranks.
        root (int): the broadcasting rank.

    Returns:
        Variable: root's ``x``, on every rank.
    """
    _check_comm('bcast', comm)
    _check_root('bcast', comm, root)
    if comm.rank == root:
        if x is None:
            raise ValueError('bcast: x must be a Variable or an array on the root rank {}, '
                             'got None'.format(root))
        inputs = (x,)
    else:
        # a dummy input that needs a gradient: this rank's backward must take part too
        inputs = (Variable(numpy.zeros((0,), numpy.float32)),)
    y, = Bcast(comm, root).apply(inputs)
    return y
