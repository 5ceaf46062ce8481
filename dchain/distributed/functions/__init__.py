"""Differentiable communication between ranks (ChainerMN's ``chainermn.functions``).

Point to point: ``send``, ``recv`` and ``pseudo_connect`` (model parallelism over ranks; see
also ``distributed.MultiNodeChainList``). Collectives over all ranks: ``bcast``, ``gather``,
``scatter``, ``allgather``, ``alltoall``. Their backward passes communicate as well, so
every rank involved must backpropagate through the same calls.
"""
from dchain.distributed.functions.collective import (allgather, alltoall, bcast,  # noqa: F401
                                                     gather, scatter)
from dchain.distributed.functions.point_to_point import recv, send  # noqa: F401
from dchain.distributed.functions.pseudo_connect import pseudo_connect  # noqa: F401
