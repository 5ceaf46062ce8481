"""Optimizer hooks (``optimizer.add_hook(hook)``), with Chainer v7's names and behaviour."""
from dchain.optimizer_hooks.gradient_clipping import GradientClipping  # noqa: F401
from dchain.optimizer_hooks.gradient_hard_clipping import GradientHardClipping  # noqa: F401
from dchain.optimizer_hooks.lasso import Lasso  # noqa: F401
from dchain.optimizer_hooks.weight_decay import WeightDecay  # noqa: F401
