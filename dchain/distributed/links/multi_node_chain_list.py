"""MultiNodeChainList: a model whose parts run on different ranks (ChainerMN's)."""
from dchain.distributed.functions import point_to_point
from dchain.distributed.functions.pseudo_connect import pseudo_connect
from dchain.link import ChainList


def _ranks(function, argument, value, comm):
    if value is None:
        return None
    ranks = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(ranks, (list, tuple)) or not ranks or not all(
            isinstance(r, int) and not isinstance(r, bool) and 0 <= r < comm.size
            for r in ranks):
        raise ValueError('{}: {} must be None, a rank or a list of ranks in [0, {}), got {!r}'
                         .format(function, argument, comm.size, value))
    return list(ranks)


class MultiNodeChainList(ChainList):
    """A chain of components on this rank that take their inputs from, and give their
    outputs to, components on other ranks (model parallelism over processes).

    Each rank builds its own MultiNodeChainList of the components it runs, registered in
    order with ``add_link(link, rank_in, rank_out)``: a component receives its inputs from
    the ranks ``rank_in`` (or takes the arguments of the call when None) and sends its output
    to the ranks ``rank_out`` (or returns it when None; one component at most). Sends and
    receives are ``distributed.functions.send``/``recv``, chained by delegate variables so one
    ``backward()`` on each rank runs every gradient exchange in the right order::

        class Model0(MultiNodeChainList):          # on rank 0
            def __init__(self, comm):
                super().__init__(comm)
                self.add_link(MLP(784, 100), rank_in=None, rank_out=1)
                self.add_link(Identity(), rank_in=1, rank_out=None)

        class Model1(MultiNodeChainList):          # on rank 1
            def __init__(self, comm):
                super().__init__(comm)
                self.add_link(MLP(100, 10), rank_in=0, rank_out=0)

    Rank 0 wraps its model in ``L.Classifier``; rank 1 trains on
    ``create_empty_dataset(train)``: its call takes no input and returns the delegate
    variable of its last send, whose ``backward()`` receives the gradient from rank 0.

    Args:
        comm: the communicator.
    """

    # its forward exchanges messages with other ranks: a data-parallel optimizer must run it
    # even on a step where this rank has no sample, or the peer would wait for ever
    forward_is_collective = True

    def __init__(self, comm):
        super().__init__()
        self._comm = comm
        self._rank_inouts = []

    @property
    def comm(self):
        """The communicator its components exchange over."""
        return self._comm

    def add_link(self, link, rank_in=None, rank_out=None):
        """Register the next component.

        Args:
            link (Link): the component.
            rank_in (int, list of int, or None): the ranks it receives its inputs from, in
                the order of its arguments (this rank for the output of one of its own
                earlier components); None: the arguments of the call.
            rank_out (int, list of int, or None): the ranks it sends its output to; None:
                the output of the call (one component at most).
        """
        rank_in = _ranks('MultiNodeChainList.add_link', 'rank_in', rank_in, self._comm)
        rank_out = _ranks('MultiNodeChainList.add_link', 'rank_out', rank_out, self._comm)
        if rank_out is None and any(out is None for _, out in self._rank_inouts):
            raise ValueError('MultiNodeChainList.add_link: only one component may have '
                             'rank_out=None (the output of the call)')
        super().add_link(link)
        self._rank_inouts.append((rank_in, rank_out))

    def forward(self, *inputs):
        """Run this rank's components in order, receiving and sending as registered.

        Returns the output of the component with ``rank_out=None``, or else the delegate
        variable of the last send (call ``backward()`` on it).
        """
        comm = self._comm
        own_queue = []        # outputs this rank sends to itself, in order
        output = None
        delegate = None       # the last variable of the graph so far on this rank
        for link, (rank_in, rank_out) in zip(self._children, self._rank_inouts):
            if rank_in is None:
                if delegate is None:
                    x = link(*inputs)
                else:
                    x = link(*pseudo_connect(delegate, *inputs))
            else:
                xs = []
                for source in rank_in:
                    if source == comm.rank:
                        if not own_queue:
                            raise ValueError('MultiNodeChainList: a component receives from '
                                             'this rank ({}) before an earlier one sent to it'
                                             .format(source))
                        received = own_queue.pop(0)
                        if delegate is not None:
                            received, = pseudo_connect(delegate, received)
                    else:
                        received = point_to_point.recv(comm, source, delegate_variable=delegate)
                    xs.append(received)
                    delegate = received
                delegate = None
                x = link(*xs)
            if rank_out is None:
                output = x
                delegate = x
                continue
            for index, dest in enumerate(rank_out):
                if dest == comm.rank:
                    if delegate is not None:
                        x, = pseudo_connect(delegate, x)
                    own_queue.append(x)
                    delegate = x
                else:
                    if index and delegate is not None:
                        x, = pseudo_connect(delegate, x)
                    delegate = point_to_point.send(x, comm, dest)
        if own_queue:
            raise ValueError('MultiNodeChainList: {} output(s) sent to this rank were never '
                             'received; check that rank_in and rank_out match'.format(
                                 len(own_queue)))
        if output is None:
            return delegate
        if output is delegate:
            return output
        output, = pseudo_connect(delegate, output)
        return output
