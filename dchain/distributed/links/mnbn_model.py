"""create_mnbn_model: a copy of a model with every BatchNormalization synchronized."""
import copy

from dchain.link import Chain, ChainList, Sequential
from dchain.links.normalization.batch_normalization import BatchNormalization
from dchain.distributed.links.batch_normalization import MultiNodeBatchNormalization


def _synchronized(bn, comm):
    """A MultiNodeBatchNormalization holding ``bn``'s parameters and statistics."""
    mnbn = MultiNodeBatchNormalization.__new__(MultiNodeBatchNormalization)
    mnbn.__dict__.update(bn.__dict__)
    mnbn.__dict__['comm'] = comm
    return mnbn


def _replace(link, comm):
    if isinstance(link, BatchNormalization):
        return link if isinstance(link, MultiNodeBatchNormalization) else \
            _synchronized(link, comm)
    if isinstance(link, Chain):
        for name in link._children:
            child = link.__dict__[name]
            link.__dict__[name] = _replace(child, comm)
    elif isinstance(link, ChainList):
        children = link._children
        for index, child in enumerate(children):
            new = _replace(child, comm)
            if new is not child and isinstance(link, Sequential):
                link._layers[:] = [new if layer is child else layer for layer in link._layers]
            children[index] = new
    return link


def create_mnbn_model(link, comm, communication_backend='auto'):
    """A deep copy of ``link`` in which every ``BatchNormalization`` is a
    ``MultiNodeBatchNormalization`` over ``comm``, keeping its parameters, statistics and
    settings (ChainerMN's function). Set up the optimizer on the returned model.

    Args:
        link: a Link (a Chain, ChainList, Sequential, or a BatchNormalization itself).
        comm: a dchain.distributed communicator.
        communication_backend: accepted for compatibility with ChainerMN.
    Returns:
        The new link.
    """
    # Communicators are shared, never copied (an MPI communicator cannot be).
    memo = {id(sub.comm): sub.comm for sub in link.links()
            if isinstance(sub, MultiNodeBatchNormalization)}
    memo[id(comm)] = comm
    return _replace(copy.deepcopy(link, memo), comm)
