"""Updaters: how one training iteration updates the parameters."""
from dchain.training.updaters.standard_updater import StandardUpdater  # noqa: F401
from dchain.training.updaters.parallel_updater import ParallelUpdater  # noqa: F401
