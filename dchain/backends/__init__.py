"""Chainer's ``chainer.backends``: the per-backend modules. ``backends.cuda`` (also
``dchain.cuda``) holds the CuPy helpers; ``dchain.backend`` the device-neutral ones."""
from dchain.backends import cuda  # noqa: F401
