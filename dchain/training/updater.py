"""Updater: the interface the trainer drives (one ``update()`` per training iteration)."""


class Updater:
    """Base class of updaters: the part of the training loop that updates parameters.

    Subclasses implement ``update``, ``get_optimizer``, ``get_all_optimizers`` and
    ``serialize``; ``iteration``, ``epoch``, ``epoch_detail`` and ``is_new_epoch`` describe
    the progress that triggers read.
    """

    def connect_trainer(self, trainer):
        """Called by the Trainer that will drive this updater (nothing by default)."""

    def finalize(self):
        """Release resources (e.g. iterator workers) after the training loop."""

    def get_optimizer(self, name):
        """The optimizer registered as ``name``."""
        raise NotImplementedError

    def get_all_optimizers(self):
        """A dict of every optimizer by name."""
        raise NotImplementedError

    def update(self):
        """Run one iteration of the training loop."""
        raise NotImplementedError

    def serialize(self, serializer):
        """Save or load the updater's state."""
        raise NotImplementedError
