"""create_multi_node_n_step_rnn: an NStep RNN whose initial and final states cross ranks
(ChainerMN's), e.g. an encoder on one rank that hands its states to a decoder on another."""
from dchain.distributed.functions.point_to_point import _check_peer, recv, send
from dchain.link import Chain
from dchain.links.rnn.n_step_rnn import NStepRNNBase


class MultiNodeNStepRNN(Chain):
    """An NStep RNN link (``L.NStepLSTM``, ``L.NStepGRU``...) that receives its initial states
    from rank ``rank_in`` and sends its final states to rank ``rank_out``.

    Called with the RNN's input sequences ``xs`` (and nothing else), it returns the RNN's own
    outputs followed by the delegate variable of the send: ``(hy, cy, ys, delegate)`` for an
    LSTM, ``(hy, ys, delegate)`` for the others; ``delegate`` is None when ``rank_out`` is None.
    The states (one per cell: ``h``, and ``c`` for an LSTM) travel in one message, and their
    gradients come back in one message during backward: on the sending rank, backpropagate
    from the delegate variable (e.g. return it as the loss) so that the gradient of the
    states, computed on the receiving rank, reaches the link.

    The wrapped link is the child ``actual_rnn``: call it directly to run the RNN without
    communicating (e.g. the later steps of a decoder).

    Args:
        link (NStepRNNBase): the RNN.
        communicator: the communicator.
        rank_in (int or None): the rank the initial states come from; None: start from zeros.
        rank_out (int or None): the rank the final states go to; None: keep them here.
    """

    # its forward exchanges messages with other ranks: a data-parallel optimizer must run it
    # even on a step where this rank has no sample, or the peer would wait for ever
    forward_is_collective = True

    def __init__(self, link, communicator, rank_in=None, rank_out=None):
        if not isinstance(link, NStepRNNBase):
            raise TypeError('create_multi_node_n_step_rnn: link must be an NStep RNN link '
                            '(NStepLSTM, NStepGRU, NStepRNNTanh...), got {}'.format(
                                type(link).__name__))
        for name, rank in (('rank_in', rank_in), ('rank_out', rank_out)):
            if rank is not None:
                _check_peer('create_multi_node_n_step_rnn ({})'.format(name), communicator,
                            rank)
        super().__init__()
        with self.init_scope():
            self.actual_rnn = link
        self.communicator = communicator
        self.rank_in = rank_in
        self.rank_out = rank_out
        self.n_cells = link.n_cells

    def forward(self, *inputs):
        """Run the RNN on ``inputs`` (its input sequences) between the two transfers."""
        if self.rank_in is None:
            cells = (None,) * self.n_cells
        else:
            cells = recv(self.communicator, self.rank_in, force_tuple=True)
            if len(cells) != self.n_cells:
                raise ValueError('MultiNodeNStepRNN: rank {} sent {} states, this {} takes {}'
                                 .format(self.rank_in, len(cells),
                                         type(self.actual_rnn).__name__, self.n_cells))
        outputs = tuple(self.actual_rnn(*(cells + inputs)))
        delegate = None
        if self.rank_out is not None:
            delegate = send(outputs[:self.n_cells], self.communicator, self.rank_out)
        return outputs + (delegate,)


def create_multi_node_n_step_rnn(actual_link, communicator, rank_in=None, rank_out=None):
    """Wrap an NStep RNN link so that its states come from ``rank_in`` and go to
    ``rank_out`` (ChainerMN's name); see ``MultiNodeNStepRNN``.

    Example (an encoder on rank 0, its decoder on rank 1)::

        # rank 0
        encoder = create_multi_node_n_step_rnn(L.NStepLSTM(2, 64, 64, 0.1), comm,
                                               rank_in=None, rank_out=1)
        _, _, _, delegate = encoder(exs)
        delegate.backward()            # receives the gradient of the states from rank 1
        # rank 1
        decoder = create_multi_node_n_step_rnn(L.NStepLSTM(2, 64, 64, 0.1), comm,
                                               rank_in=0, rank_out=None)
        hy, cy, ys, _ = decoder(eys)   # starts from rank 0's final states
    """
    return MultiNodeNStepRNN(actual_link, communicator, rank_in, rank_out)
