"""A serializer into (or out of) nested dicts that follows Chainer's protocol, for tests that
save an object's state and load it into another (tests/ is on the path through conftest.py)."""


class DictSerializer:
    """Saves into ``store`` (``loading=False``) or loads from it (``loading=True``)."""

    def __init__(self, store, loading):
        self.store, self.loading = store, loading

    def __getitem__(self, key):
        return DictSerializer(self.store.setdefault(key, {}), self.loading)

    def __call__(self, key, value):
        if self.loading:
            return self.store[key]
        self.store[key] = value
        return value
