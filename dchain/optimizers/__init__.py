"""Optimizers (``from dchain import optimizers``), with Chainer v7's names and defaults."""
from dchain.optimizers.ada_delta import AdaDelta, AdaDeltaRule  # noqa: F401
from dchain.optimizers.ada_grad import AdaGrad, AdaGradRule  # noqa: F401
from dchain.optimizers.adam import AMSGrad, Adam, AdamRule, AdamW  # noqa: F401
from dchain.optimizers.flat import FlatParameters  # noqa: F401
from dchain.optimizers.momentum_sgd import MomentumSGD, MomentumSGDRule  # noqa: F401
from dchain.optimizers.nesterov_ag import NesterovAG, NesterovAGRule  # noqa: F401
from dchain.optimizers.rmsprop import RMSprop, RMSpropRule  # noqa: F401
from dchain.optimizers.sgd import SGD, SGDRule  # noqa: F401
from dchain.optimizers.adam import AdaBound, AMSBound  # noqa: F401
from dchain.optimizers.corrected_momentum_sgd import (  # noqa: F401
    CorrectedMomentumSGD, CorrectedMomentumSGDRule)
from dchain.optimizers.msvag import MSVAG, MSVAGRule  # noqa: F401
from dchain.optimizers.rmsprop_graves import RMSpropGraves, RMSpropGravesRule  # noqa: F401
from dchain.optimizers.smorms3 import SMORMS3, SMORMS3Rule  # noqa: F401
