"""The Chainer 7 worker (see protocol.py); run it with Chainer's own interpreter (NumPy 1.x).
dp-2 uses ChainerMN's 'naive' communicator, its one that works on CPU arrays."""
import sys

import protocol  # sets the thread variables before NumPy loads

import numpy

import chainer  # noqa: E402
import chainer.functions as F  # noqa: E402
import chainer.links as L  # noqa: E402
from chainer import optimizers  # noqa: E402

import chainer_like  # noqa: E402


def info():
    return {'framework': 'chainer', 'version': chainer.__version__,
            'numpy': numpy.__version__, 'python': sys.version.split()[0]}


def build(row):
    numpy.random.seed(0)
    return chainer_like.build(chainer, F, L, optimizers, row)


def dp(mpi_comm, MPI):
    import chainermn
    numpy.random.seed(0)

    def communicator(mpi_comm):
        return chainermn.create_communicator('naive', mpi_comm=mpi_comm)
    return chainer_like.dp_steps(chainer, F, L, optimizers, communicator,
                                 chainermn.create_multi_node_optimizer, mpi_comm, MPI)


if __name__ == '__main__':
    protocol.main(build, info, dp)
