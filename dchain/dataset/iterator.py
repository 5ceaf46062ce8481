"""Iterator: the protocol of dataset iterators (Chainer's ``chainer.dataset.Iterator``)."""


class Iterator:
    """Base of dataset iterators: ``next(iterator)`` returns the next mini-batch (a list of
    examples).

    Iterators that count epochs also expose ``epoch``, ``epoch_detail``,
    ``previous_epoch_detail``, ``is_new_epoch`` and ``reset()``. ``with iterator:`` calls
    ``finalize()`` on leaving.
    """

    def __iter__(self):
        return self

    def __next__(self):
        """The next mini-batch (subclasses define it)."""
        raise NotImplementedError

    def next(self):
        """The same as ``next(iterator)`` (Python 2 spelling kept by Chainer)."""
        return self.__next__()

    def finalize(self):
        """Release what the iterator holds (threads, processes); nothing here."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.finalize()

    def serialize(self, serializer):
        """Save or load the iterator's position (nothing here)."""
