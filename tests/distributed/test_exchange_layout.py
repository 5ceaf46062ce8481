"""The gradient exchange's layout is the same on every rank: whether a rank's optimizer fuses
its parameters into one buffer is a rank-local decision (it does not when something else
holds a parameter's array), and it must not change where a gradient sits in the exchange.
Ranks that register the parameters in different orders are refused.

Run under ``mpirun -n N python -m mpi4py -m pytest --with-mpi`` at any N.
"""
import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import distributed, optimizers

from test_training import N_IN, N_OUT, assert_same_params, make_data, params

pytestmark = pytest.mark.mpi


class Unsorted(dchain.Chain):
    """Children registered in an order that is not their names' order."""

    def __init__(self, reverse=False):
        super().__init__()
        names = ['zeta', 'alpha'] if not reverse else ['alpha', 'zeta']
        sizes = {'zeta': (N_IN, 7), 'alpha': (7, N_OUT)}
        init = dchain.initializers.LeCunNormal(dtype=numpy.float64)
        with self.init_scope():
            for name in names:
                setattr(self, name, L.Linear(*sizes[name], initialW=init,
                                             initial_bias=dchain.initializers.Zero(numpy.float64)))

    def forward(self, x):
        return self.alpha(F.relu(self.zeta(x)))


def train(comm, dataset, hold=False, steps=5):
    dchain.random.seed(3)
    model = L.Classifier(Unsorted())
    opt = distributed.create_multi_node_optimizer(optimizers.Adam(alpha=0.01), comm)
    opt.setup(model)
    held = model.predictor.zeta.W.array if hold else None  # noqa: F841 (a holder)
    iterator = distributed.ShardedIterator(dataset, 6, comm, seed=4)
    for _ in range(steps):
        x, t = dchain.dataset.concat_examples(next(iterator))
        opt.update(model, x, t)
    return params(model), opt.actual_optimizer._flat is not None


def test_a_rank_that_does_not_fuse_exchanges_in_the_same_layout():
    comm = distributed.create_communicator('mpi')
    dataset = make_data(17)
    expected, _ = train(distributed.create_communicator('single'), dataset)
    actual, fused = train(comm, dataset, hold=comm.rank == 0)
    assert fused == (comm.rank != 0)  # rank 0 holds an array: it does not fuse, the others do
    assert_same_params(actual, expected)


def test_parameters_registered_in_another_order_are_refused():
    comm = distributed.create_communicator('mpi')
    if comm.size == 1:
        pytest.skip('needs 2 or more ranks')
    dchain.random.seed(3)
    model = L.Classifier(Unsorted(reverse=comm.rank == 1))
    opt = distributed.create_multi_node_optimizer(optimizers.SGD(), comm).setup(model)
    x = numpy.zeros((2, N_IN))
    t = numpy.zeros(2, numpy.int32)
    with pytest.raises(ValueError) as info:
        opt.update(model, x, t)
    message = str(info.value)
    assert 'rank 0 registers the parameters in the order /predictor/zeta/W, ' in message
    assert 'rank 1 in the order /predictor/alpha/W, ' in message
    assert 'differ from position 0: /predictor/zeta/W against /predictor/alpha/W' in message
