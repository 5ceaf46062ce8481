"""Links whose forward is a collective: synchronized batch normalization (ChainerMN's names)."""
from dchain.distributed.links.batch_normalization import (  # noqa: F401
    MultiNodeBatchNormalization, MultiNodeBNFunction)
from dchain.distributed.links.mnbn_model import create_mnbn_model  # noqa: F401
