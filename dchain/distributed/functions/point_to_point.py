"""Differentiable send and recv between two ranks (ChainerMN's ``functions.send``/``recv``).

The forward of ``send`` sends ``x`` to a peer; its backward receives the gradient of ``x``
from that peer. The forward of ``recv`` receives; its backward sends the gradient back. Each
backward thus waits for the peer's matching backward, so the two ranks must run their
backward passes through the same sends and receives, in the reverse order of the forward.
"""
import numpy

from dchain import backend
from dchain.function_node import FunctionNode
from dchain.variable import Variable


def _check_peer(function, communicator, rank):
    if isinstance(rank, bool) or not isinstance(rank, (int, numpy.integer)) or \
            not 0 <= rank < communicator.size:
        raise ValueError('{}: rank must be a rank of the communicator, in [0, {}), got {!r}'
                         .format(function, communicator.size, rank))
    if rank == communicator.rank:
        raise ValueError('{}: rank must be another rank than this one ({}), or it would wait '
                         'for itself forever'.format(function, rank))


def _empty(xp):
    return xp.zeros((0,), numpy.float32)


class Send(FunctionNode):
    """Sends its inputs but the last (a dummy that keeps the node in the graph) to a peer;
    its one output is the empty "delegate variable"."""

    def __init__(self, comm, peer_rank, peer_tag, is_tuple=False):
        self.comm = comm
        self.peer_rank = peer_rank
        self.peer_tag = peer_tag
        self._is_tuple = is_tuple

    @property
    def label(self):
        return 'Send (peer_rank: {})'.format(self.peer_rank)

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        xs = inputs[:-1]
        self.comm.send(tuple(xs) if self._is_tuple else xs[0], self.peer_rank, self.peer_tag)
        return _empty(xp),

    def backward(self, indexes, grad_outputs):
        xs = self.inputs[:-1]
        xp = backend.get_array_module(*[x.array for x in xs])
        grads = self.comm.recv(self.peer_rank, self.peer_tag)
        if not self._is_tuple:
            grads = (grads,)
        if len(grads) != len(xs):
            raise ValueError('Send.backward: rank {} sent {} gradients for the {} arrays sent to '
                             'it'.format(self.peer_rank, len(grads), len(xs)))
        grads = tuple(xp.asarray(g).astype(x.dtype, copy=False) for g, x in zip(grads, xs))
        return grads + (_empty(xp),)


class Recv(FunctionNode):
    """Receives arrays from a peer; its input is a delegate variable (or a dummy) that orders
    this node's backward after the rest of the rank's graph."""

    def __init__(self, comm, peer_rank, peer_tag):
        self.comm = comm
        self.peer_rank = peer_rank
        self.peer_tag = peer_tag

    @property
    def label(self):
        return 'Recv (peer_rank: {})'.format(self.peer_rank)

    def forward(self, inputs):
        data = self.comm.recv(self.peer_rank, self.peer_tag)
        self._is_tuple = isinstance(data, tuple)
        outputs = data if self._is_tuple else (data,)
        self._shapes = [y.shape for y in outputs]
        self._dtypes = [y.dtype for y in outputs]
        self._xp = backend.get_array_module(*outputs)
        return outputs

    def backward(self, indexes, grad_outputs):
        # an output that got no gradient (unused on this rank) still owes the peer one: zeros
        grads = tuple(self._xp.zeros(shape, dtype) if g is None else g.array
                      for g, shape, dtype in zip(grad_outputs, self._shapes, self._dtypes))
        self.comm.send(grads if self._is_tuple else grads[0], self.peer_rank, self.peer_tag)
        return tuple(backend.get_array_module(x).zeros_like(x.array) for x in self.inputs)


def send(x, communicator, rank, tag=0):
    """Send ``x`` to process ``rank``; differentiable (backward receives its gradient).

    Args:
        x (Variable, array, or tuple/list of them): what to send.
        communicator: the communicator (``distributed.create_communicator()``).
        rank (int): the receiving rank (not this one).
        tag (int): the message tag; match it in ``recv``.

    Returns:
        Variable: the "delegate variable", an empty float32 array that holds the graph: give
        it to ``recv(..., delegate_variable=...)`` or ``pseudo_connect``, or call its
        ``backward()`` to receive the gradient and backpropagate it into ``x``.
    """
    _check_peer('send', communicator, rank)
    is_tuple = isinstance(x, (tuple, list))
    xs = list(x) if is_tuple else [x]
    if not xs:
        raise ValueError('send: x must hold at least one array, got an empty {}'.format(
            type(x).__name__))
    xp = backend.get_array_module(*[v.array if isinstance(v, Variable) else v for v in xs])
    # the dummy input makes the node part of the graph even when x needs no gradient, so
    # that the peer's backward always finds this one's
    dummy = Variable(_empty(xp))
    delegate, = Send(communicator, rank, tag, is_tuple).apply(xs + [dummy])
    delegate.name = 'delegate_variable'
    return delegate


def recv(communicator, rank, delegate_variable=None, tag=0, force_tuple=False):
    """Receive what process ``rank`` sent with ``send``; differentiable (backward sends the
    gradient back).

    Args:
        communicator: the communicator.
        rank (int): the sending rank (not this one).
        delegate_variable (Variable): the output of this rank's previous graph component
            (e.g. a ``send``'s delegate variable), so one backward pass covers both; None
            when this receive starts the rank's graph.
        tag (int): the message tag given to ``send``.
        force_tuple (bool): return a tuple even for one array.

    Returns:
        Variable, or a tuple of Variables when a tuple was sent (or ``force_tuple``).

    The backward pass sends a gradient for every received array (zeros for one that did not
    reach the loss), but only runs when at least one of them did: a receive whose arrays are
    all unused leaves the sender's backward waiting (until the collective timeout).
    """
    _check_peer('recv', communicator, rank)
    if delegate_variable is None:
        xp = backend.get_array_module()
        delegate_variable = Variable(_empty(xp))
        delegate_variable.name = 'dummy_var'
    elif not isinstance(delegate_variable, Variable):
        raise TypeError('recv: delegate_variable must be a Variable or None, got {}'.format(
            type(delegate_variable).__name__))
    else:
        delegate_variable.name = 'delegate_variable'
    node = Recv(communicator, rank, tag)
    outputs = node.apply((delegate_variable,))
    if node._is_tuple or force_tuple:
        return tuple(outputs)
    return outputs[0]
