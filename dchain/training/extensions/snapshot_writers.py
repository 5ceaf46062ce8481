"""Snapshot writers: how ``snapshot`` puts a serialized target on disk."""
from dchain.training.extensions._files import write_atomically


def _default_savefun():
    # imported on first use so the training package loads without the serializers
    from dchain.serializers import save_npz
    return save_npz


class Writer:
    """Base class of snapshot writers: ``writer(filename, outdir, target)`` saves ``target``
    as ``outdir/filename``."""

    def __call__(self, filename, outdir, target):
        """Save ``target`` into ``outdir/filename``."""
        raise NotImplementedError

    def save(self, filename, outdir, target, savefun, **kwds):
        """Write with ``savefun(path, target, **kwds)`` to a temporary file, then move it in
        place, so a crash never leaves a half-written snapshot under the final name."""
        write_atomically(outdir, filename, lambda path: savefun(path, target, **kwds))

    def finalize(self):
        """Called after training (nothing to release here)."""


class SimpleWriter(Writer):
    """Save in the training loop's thread with ``savefun`` (``save_npz`` when None).

    Args:
        savefun: ``savefun(path, target, **kwds)``.
        kwds: keyword arguments for ``savefun``.
    """

    def __init__(self, savefun=None, **kwds):
        self._savefun = savefun if savefun is not None else _default_savefun()
        self._kwds = kwds

    def __call__(self, filename, outdir, target):
        self.save(filename, outdir, target, self._savefun, **self._kwds)
