"""dchain: define-by-run deep learning on NumPy and CuPy, with MPI data parallelism built in.

The public API follows Chainer v7 (and ChainerMN in ``dchain.distributed``). Importing dchain
loads neither mpi4py nor cupy.
"""
import sys as _sys

from dchain import _threads  # noqa: F401  (first: sets threads per rank before NumPy loads)
from dchain import _malloc  # noqa: F401  (reuse large freed blocks: no page faults per step)
from dchain import backend  # noqa: F401
from dchain.config import (config, force_backprop_mode, global_config,  # noqa: F401
                           no_backprop_mode, using_config)
from dchain.config import get_dtype, is_debug, mixed16, set_debug  # noqa: F401
from dchain.function_node import FunctionNode  # noqa: F401
from dchain.variable import Parameter, Variable, as_array, as_variable, grad  # noqa: F401
from dchain import functions  # noqa: F401  (installs Variable's operators)
from dchain.backend import get_array_module, get_device  # noqa: F401

__version__ = '0.1.0'
from dchain.link import Chain, ChainList, Link, Sequential  # noqa: F401,E402
from dchain import initializers, links, random  # noqa: F401,E402
from dchain import dataset, datasets, iterators  # noqa: F401,E402
from dchain import optimizer, optimizer_hooks, optimizers  # noqa: F401,E402
from dchain.optimizer import GradientMethod, Optimizer, UpdateRule  # noqa: F401,E402
from dchain import reporter, training  # noqa: F401,E402
from dchain.reporter import (DictSummary, Reporter, Summary,  # noqa: F401,E402
                             get_current_reporter,
                             report, report_scope)
from dchain import computational_graph  # noqa: F401,E402
from dchain import serializers  # noqa: F401,E402  (h5py loads only when HDF5 is used)
from dchain.serializers import AbstractSerializer, Deserializer, Serializer  # noqa: F401,E402
# Chainer's plumbing names: config.dtype, backends, the old-style Function, static graphs
from dchain import backends, configuration  # noqa: F401,E402
from dchain.backends import cuda  # noqa: F401,E402
# Chainer's ``chainer.cuda`` is an importable alias of ``chainer.backends.cuda``.
_sys.modules[__name__ + '.cuda'] = cuda
from dchain.backend import using_device  # noqa: F401,E402
from dchain.function import Function, FunctionAdapter  # noqa: F401,E402
from dchain import utils  # noqa: F401,E402
from dchain.graph_optimizations import static_code, static_graph  # noqa: F401,E402
from dchain import distributions  # noqa: F401,E402
from dchain.distributions import kl_divergence, register_kl  # noqa: F401,E402
