"""The rows written once for Chainer's API, which dchain shares: the dchain and Chainer workers
run this same code with a different import (and a different communicator for dp-2).
"""
import numpy

import protocol


def make_model(framework, F, L, row):
    """The row's model as a Sequential of links and functions."""
    if row == 'cnn':
        def pool(h):
            return F.max_pooling_2d(h, 2)
        return framework.Sequential(
            L.Convolution2D(1, 20, 5), F.relu, pool,
            L.Convolution2D(20, 50, 5), F.relu, pool,
            L.Linear(800, 500), F.relu, L.Linear(500, 10))
    sizes = protocol.MLP_ROWS['mlp-large' if row.startswith('dp') else row]['sizes']
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [L.Linear(n_in, n_out), F.relu]
    return framework.Sequential(*layers[:-1])


def make_optimizer(optimizers, row):
    if row == 'cnn':
        return optimizers.MomentumSGD(lr=0.01, momentum=0.9)
    return optimizers.Adam()


def build(framework, F, L, optimizers, row):
    """A step function for ``row``: forward, backward and update (or forward and backward
    for the overhead rows)."""
    x, t = protocol.random_data(numpy, row)
    model = make_model(framework, F, L, row)
    spec = protocol.MLP_ROWS.get(row, protocol.CNN_ROW)

    def lossfun():
        return F.softmax_cross_entropy(model(x), t)

    if spec['optimizer'] is None:
        def step():
            model.cleargrads()
            lossfun().backward()
        return step
    optimizer = make_optimizer(optimizers, row).setup(model)

    def step():
        optimizer.update(lossfun)
    return step


def dp_steps(framework, F, L, optimizers, make_communicator, create_multi_node_optimizer,
             mpi_comm, MPI):
    """The dp-2 phases on this rank: mlp-large with Adam and a multi-node optimizer, 100
    samples per rank; the same model on a one-rank communicator; a raw Allreduce."""
    rank = mpi_comm.Get_rank()
    x, t = protocol.random_data(numpy, 'dp-2')

    def make_step(comm):
        model = make_model(framework, F, L, 'dp-2')
        optimizer = create_multi_node_optimizer(optimizers.Adam(), comm).setup(model)

        def step():
            optimizer.update(lambda: F.softmax_cross_entropy(model(x), t))
        return step

    two_ranks = make_step(make_communicator(mpi_comm))
    one_rank = make_step(make_communicator(MPI.COMM_SELF))
    return {
        'two_ranks': two_ranks,
        'one_rank': one_rank if rank == 0 else None,
        'one_rank_each': one_rank,
        'allreduce': protocol.raw_allreduce(numpy, mpi_comm, MPI),
    }
