"""The dchain worker (see protocol.py): the rows in Chainer's API, run by dchain."""
import os
import sys

import protocol  # sets the thread variables before NumPy loads

import numpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
import dchain  # noqa: E402  (the checkout's dchain, not an installed one)
import dchain.functions as F  # noqa: E402
import dchain.links as L  # noqa: E402
from dchain import optimizers  # noqa: E402

import chainer_like  # noqa: E402


def info():
    return {'framework': 'dchain', 'version': getattr(dchain, '__version__', '?'),
            'numpy': numpy.__version__, 'python': sys.version.split()[0]}


def build(row):
    dchain.random.seed(0)
    return chainer_like.build(dchain, F, L, optimizers, row)


def dp(mpi_comm, MPI):
    from dchain import distributed
    dchain.random.seed(0)

    def communicator(mpi_comm):
        return distributed.create_communicator('mpi', mpi_comm=mpi_comm)
    return chainer_like.dp_steps(dchain, F, L, optimizers, communicator,
                                 distributed.create_multi_node_optimizer, mpi_comm, MPI)


if __name__ == '__main__':
    protocol.main(build, info, dp)
