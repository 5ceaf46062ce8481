"""Probability distributions with differentiable parameters, as Chainer's
``chainer.distributions``: ``Normal``, ``Bernoulli`` and ``Independent``, and
``kl_divergence`` between them.

Parameters are Variables (arrays are wrapped), and ``log_prob``, ``entropy``, ``mean`` and the
reparameterized ``Normal.sample`` are built from dchain functions, so gradients flow back to
the parameters, e.g. for a variational autoencoder's loss. Random draws come from dchain's
global generator on the host (NumPy's global random state unless ``dchain.random.seed`` was
called, as in Chainer), then move to the parameters' device.
"""
from dchain.distributions.bernoulli import Bernoulli  # noqa: F401
from dchain.distributions.distribution import (Distribution, kl_divergence,  # noqa: F401
                                               register_kl)
from dchain.distributions.independent import Independent  # noqa: F401
from dchain.distributions.normal import Normal  # noqa: F401
