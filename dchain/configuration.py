"""Chainer's ``chainer.configuration`` module: the same objects as ``dchain.config``'s.

``configuration.config``, ``configuration.global_config`` and ``configuration.using_config``
are ``dchain.config``, ``dchain.global_config`` and ``dchain.using_config``.
"""
from dchain.config import (GlobalConfig, LocalConfig, config, global_config,  # noqa: F401
                           using_config)
