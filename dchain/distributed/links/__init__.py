"""Links for models spread over ranks and links whose forward is a collective (ChainerMN's
``chainermn.links``): MultiNodeChainList, synchronized batch normalization, NStep RNNs
whose states cross ranks."""
from dchain.distributed.links.multi_node_chain_list import MultiNodeChainList  # noqa: F401
from dchain.distributed.links.batch_normalization import (  # noqa: F401
    MultiNodeBatchNormalization, MultiNodeBNFunction)
from dchain.distributed.links.mnbn_model import create_mnbn_model  # noqa: F401
from dchain.distributed.links.n_step_rnn import (MultiNodeNStepRNN,  # noqa: F401
                                                 create_multi_node_n_step_rnn)
