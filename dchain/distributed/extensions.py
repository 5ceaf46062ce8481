"""ChainerMN's ``chainermn.extensions`` namespace: the trainer extensions and triggers of
data-parallel training, gathered under one name so ported code finds them."""
from dchain.distributed.checkpoint import create_multi_node_checkpointer  # noqa: F401
from dchain.distributed.evaluator import create_multi_node_evaluator  # noqa: F401
from dchain.distributed.observation import (MultiNodeEarlyStoppingTrigger,  # noqa: F401
                                            ObservationAggregator)
from dchain.distributed.persistent import AllreducePersistent  # noqa: F401
