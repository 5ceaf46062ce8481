"""Triggers: callables taking the trainer and saying whether something should happen now."""
from dchain.training.triggers.interval_trigger import IntervalTrigger, get_trigger  # noqa: F401
from dchain.training.triggers.manual_schedule_trigger import ManualScheduleTrigger  # noqa: F401
from dchain.training.triggers.minmax_value_trigger import (BestValueTrigger,  # noqa: F401
                                                           MaxValueTrigger, MinValueTrigger)
from dchain.training.triggers.early_stopping_trigger import EarlyStoppingTrigger  # noqa: F401
