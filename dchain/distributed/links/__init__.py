"""Links for models spread over ranks (ChainerMN's ``chainermn.links``)."""
from dchain.distributed.links.multi_node_chain_list import MultiNodeChainList  # noqa: F401
