"""Links for models spread over ranks and links whose forward is a collective (ChainerMN's
``chainermn.links``): MultiNodeChainList, synchronized batch normalization."""
from dchain.distributed.links.multi_node_chain_list import MultiNodeChainList  # noqa: F401
from dchain.distributed.links.batch_normalization import (  # noqa: F401
    MultiNodeBatchNormalization, MultiNodeBNFunction)
from dchain.distributed.links.mnbn_model import create_mnbn_model  # noqa: F401
