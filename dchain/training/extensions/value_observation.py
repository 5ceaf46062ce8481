"""observe_value / observe_lr: put a value computed from the trainer into the observation."""
from dchain.training import extension


def observe_value(observation_key, target_func):
    """An extension storing ``target_func(trainer)`` as ``observation[observation_key]``
    (once per epoch by default, before the readers such as LogReport run).

    Args:
        observation_key (str): the key, e.g. 'lr'.
        target_func: ``target_func(trainer)`` -> the value.
    """
    @extension.make_extension(trigger=(1, 'epoch'), priority=extension.PRIORITY_WRITER)
    def _observe_value(trainer):
        trainer.observation[observation_key] = target_func(trainer)
    return _observe_value


def observe_lr(optimizer_name='main', observation_key='lr'):
    """An extension storing the learning rate ``optimizer.lr`` of the updater's optimizer
    ``optimizer_name`` as ``observation[observation_key]``."""
    return observe_value(observation_key,
                         lambda trainer: trainer.updater.get_optimizer(optimizer_name).lr)
