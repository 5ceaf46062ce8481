"""Dynamic loss scaling in data-parallel training: a step with an inf on one rank is skipped
on every rank and the scale halves everywhere, as on one process with the same global
batches. Passes at any number of ranks."""
import warnings

import numpy
import pytest

import dchain
import dchain.links as L
from dchain import datasets, distributed, optimizers


def train(comm, steps=4, batch=6):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((steps * batch, 3)).astype(numpy.float32)
    x[2 * batch - 1, 0] = numpy.inf  # step 2, in the last rank's share
    t = rng.integers(0, 2, steps * batch).astype(numpy.int32)
    dchain.random.seed(0)
    model = L.Classifier(L.Linear(3, 2))
    optimizer = distributed.create_multi_node_optimizer(optimizers.Adam(alpha=0.1), comm)
    optimizer.setup(model)
    optimizer.loss_scaling(interval=2)
    iterator = distributed.ShardedIterator(datasets.TupleDataset(x, t), batch, comm,
                                           shuffle=False)
    scales, changed = [], []
    for _ in range(steps):
        before = model.predictor.W.data.copy()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            optimizer.update(model, *dchain.dataset.concat_examples(next(iterator)))
        scales.append(optimizer.loss_scale)
        changed.append(bool((model.predictor.W.data != before).any()))
    return scales, changed, model.predictor.W.data.copy()


@pytest.mark.parametrize('mpi', [False, pytest.param(True, marks=pytest.mark.mpi)])
def test_an_inf_on_one_rank_skips_the_step_on_every_rank(mpi):
    comm = distributed.create_communicator('mpi' if mpi else 'single')
    scales, changed, weights = train(comm)
    assert scales == pytest.approx([2.0, 1.0, 2 ** 0.5, 2.0])  # halved at step 2
    assert changed == [True, False, True, True]                 # step 2 skipped
    reference = train(distributed.create_communicator('single'))
    numpy.testing.assert_allclose(weights, reference[2], rtol=1e-5, atol=1e-6)
    everyone = comm.allgather_obj((scales, changed, weights.tolist()))
    assert all(theirs == everyone[0] for theirs in everyone)  # every rank agrees
