"""Sharded optimizer state (ZeRO-1): the same results as the unsharded optimizer (1e-6), 1/N
of the state per rank, and snapshots with the whole state in Chainer's layout, written by rank
0 alone, that resume sharded and unsharded. MPI tests pass at any number of ranks."""
import io
import re

import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import datasets, distributed, optimizer_hooks, optimizers, serializers

OPTIMIZERS = {'SGD': lambda: optimizers.SGD(lr=0.5),
              'MomentumSGD': lambda: optimizers.MomentumSGD(lr=0.2),
              'Adam': lambda: optimizers.Adam(alpha=0.05)}


class Net(dchain.Chain):
    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(5, 7)
            self.l2 = L.Linear(7, 3)

    def forward(self, x):
        return self.l2(F.tanh(self.l1(x)))


def make(comm, name, shard):
    dchain.random.seed(3)
    model = L.Classifier(Net())
    optimizer = distributed.create_multi_node_optimizer(
        OPTIMIZERS[name](), comm, shard_optimizer_state=shard).setup(model)
    return model, optimizer


def data():
    rng = numpy.random.default_rng(0)
    return datasets.TupleDataset(rng.standard_normal((40, 5)).astype(numpy.float32),
                                 rng.integers(0, 3, 40).astype(numpy.int32))


def run(comm, model, optimizer, steps, start=0):
    iterator = distributed.ShardedIterator(data(), 7, comm, shuffle=False)  # uneven shards
    for _ in range(start + steps):
        batch = dchain.dataset.concat_examples(next(iterator))
        if start:
            start -= 1
            continue
        optimizer.update(model, *batch)


def weights(model):
    return {path: p.data.copy() for path, p in model.namedparams()}


def assert_close(a, b, rtol=1e-6, atol=1e-7):
    assert a.keys() == b.keys()
    for key in a:
        numpy.testing.assert_allclose(a[key], b[key], rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize('mpi', [False, pytest.param(True, marks=pytest.mark.mpi)])
@pytest.mark.parametrize('name', sorted(OPTIMIZERS))
def test_sharded_equals_unsharded_with_a_part_of_the_state(mpi, name):
    comm = distributed.create_communicator('mpi' if mpi else 'single')
    results = {}
    for shard in (False, True):
        model, optimizer = make(comm, name, shard)
        run(comm, model, optimizer, 4)
        results[shard] = weights(model)
    assert_close(results[True], results[False])
    held = sum(array.size for array in optimizer._shards.state.values())
    total = sum(p.size for p in model.params())
    kinds = len(optimizer._shards.state)
    assert held <= kinds * (total // comm.size + 1)  # about 1/N of the whole state
    everyone = comm.allgather_obj(results[True])
    for theirs in everyone:
        assert_close(theirs, everyone[0], rtol=0, atol=0)


def save(optimizer):
    stream = io.BytesIO()
    serializers.save_npz(stream, optimizer)
    return stream.getvalue()


@pytest.mark.mpi
def test_a_snapshot_by_rank_0_alone_holds_the_whole_state_and_resumes_anywhere():
    comm = distributed.create_communicator('mpi')
    sharded_model, sharded = make(comm, 'Adam', True)
    plain_model, plain = make(comm, 'Adam', False)
    for model, optimizer in ((sharded_model, sharded), (plain_model, plain)):
        run(comm, model, optimizer, 3)
    payload = save(sharded) if comm.rank == 0 else None  # rank 0 alone
    run(comm, sharded_model, sharded, 2, start=3)  # the others went on meanwhile
    payload = comm.bcast_obj(payload)
    with numpy.load(io.BytesIO(payload)) as saved:
        reference = {}
        serializers.DictionarySerializer(reference).save(plain)
        assert set(saved.files) == set(reference)  # Chainer's layout, whole state
        for key in reference:
            numpy.testing.assert_allclose(saved[key], reference[key], rtol=1e-6, atol=1e-7,
                                          err_msg=key)
    # resume at step 3, sharded on these ranks and unsharded on one process
    model_path = io.BytesIO()
    serializers.save_npz(model_path, plain_model)
    for resumed_comm, shard in ((comm, True), (distributed.create_communicator('single'),
                                               False)):
        model, optimizer = make(resumed_comm, 'Adam', shard)
        model_path.seek(0)
        serializers.load_npz(model_path, model)
        serializers.load_npz(io.BytesIO(payload), optimizer)
        run(resumed_comm, model, optimizer, 2, start=3)
        assert_close(weights(model), weights(sharded_model), rtol=1e-5, atol=1e-6)


def test_hooks_and_other_dtypes_are_refused():
    comm = distributed.create_communicator('single')
    model, optimizer = make(comm, 'SGD', True)
    optimizer.add_hook(optimizer_hooks.GradientClipping(1.0))
    x = numpy.zeros((2, 5), numpy.float32)
    with pytest.raises(ValueError, match='optimizer hooks need whole gradients'):
        optimizer.update(model, x, numpy.zeros(2, numpy.int32))


def _master_copies(model, optimizer):
    model.to_device('@numpy')
    for param in model.params():
        param.data = param.data.astype(numpy.float16)
    optimizer.use_fp32_update()


@pytest.mark.parametrize('change,message', [
    (_master_copies, '/predictor/l1/W is float16 with float32 master copies (use_fp32_update, '
                     'as mixed16 makes them), which are not sharded'),
    (lambda model, _: model.predictor.l2.b.update_rule.add_hook(
        optimizer_hooks.WeightDecay(0.1)),
     "/predictor/l2/b has update-rule hooks (WeightDecay); remove them"),
    (lambda model, _: setattr(model.predictor.l1.b.update_rule.hyperparam, 'lr', 0.1),
     '/predictor/l1/b has hyperparameters of its own; set them on the optimizer')])
def test_update_rules_that_cannot_be_sharded_are_named(change, message):
    comm = distributed.create_communicator('single')
    model, optimizer = make(comm, 'SGD', True)
    change(model, optimizer)
    dtype = model.predictor.l1.W.dtype
    x = numpy.zeros((2, 5), dtype)
    with pytest.raises(ValueError, match=re.escape(
            'create_multi_node_optimizer(shard_optimizer_state=True): ' + message)):
        optimizer.update(model, x, numpy.zeros(2, numpy.int32))


@pytest.mark.mpi
def test_an_inf_on_one_rank_skips_the_sharded_step_everywhere():
    comm = distributed.create_communicator('mpi')
    model, optimizer = make(comm, 'Adam', True)
    optimizer.loss_scaling()
    before = weights(model)
    x = numpy.ones((2, 5), numpy.float32)
    if comm.rank == comm.size - 1:
        x[0, 0] = numpy.inf
    with pytest.warns(UserWarning, match='non-finite gradient'):
        optimizer.update(model, x, numpy.zeros(2, numpy.int32))
    assert_close(weights(model), before, rtol=0, atol=0)
    assert optimizer.loss_scale == 1.0
    assert set(comm.allgather_obj(optimizer.loss_scale)) == {1.0}
