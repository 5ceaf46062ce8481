"""Extension: what the trainer calls after updates, and the ``make_extension`` decorator.

An extension is any callable taking the trainer. The attributes read by ``Trainer.extend``
(``trigger``, ``priority``, ``name``/``default_name``) and the optional hooks
(``initialize``, ``on_error``, ``finalize``, ``serialize``) are Chainer's.
"""

PRIORITY_WRITER = 300  # writes into the observation (Evaluator, observe_lr)
PRIORITY_EDITOR = 200  # edits what writers wrote
PRIORITY_READER = 100  # reads the observation (LogReport, PrintReport)


class Extension:
    """Base class of trainer extensions.

    Attributes:
        trigger: default trigger, ``(1, 'iteration')``.
        priority: default priority, ``PRIORITY_READER``; higher runs first.
        name: set by ``Trainer.extend``; ``default_name`` (the class name) is used when None.
    """

    trigger = 1, 'iteration'
    priority = PRIORITY_READER
    name = None

    @property
    def default_name(self):
        """The name used when none is given to ``Trainer.extend``: the class name."""
        return type(self).__name__

    def __call__(self, trainer):
        """Run the extension; called when its trigger fires."""
        raise NotImplementedError(
            '{}: an extension must define __call__(trainer)'.format(type(self).__name__))

    def initialize(self, trainer):
        """Called once before the training loop (also on a resumed run)."""

    def on_error(self, trainer, exc, tb):
        """Called when the training loop raises ``exc`` (with traceback ``tb``)."""

    def finalize(self):
        """Called once after the training loop ends, normally or by an error."""

    def serialize(self, serializer):
        """Save or load the extension's state (nothing by default)."""


def make_extension(trigger=None, default_name=None, priority=None, finalizer=None,
                   initializer=None, on_error=None, **kwargs):
    """Decorator giving a function the attributes of an extension.

    Args:
        trigger: default trigger (``(1, 'iteration')`` when None).
        default_name: default name (the function's name when None).
        priority: default priority (``PRIORITY_READER`` when None).
        finalizer: called with no argument after the training loop.
        initializer: called with the trainer before the training loop.
        on_error: called with ``(trainer, exc, tb)`` when the loop raises.
    """
    if kwargs:
        raise TypeError('make_extension: unexpected keyword arguments {}'.format(
            ', '.join(sorted(kwargs))))
    if trigger is None:
        trigger = Extension.trigger
    if priority is None:
        priority = Extension.priority

    def decorator(function):
        function.trigger = trigger
        function.default_name = default_name or function.__name__
        function.priority = priority
        function.finalize = finalizer
        function.initialize = initializer
        function.on_error = on_error
        return function
    return decorator
