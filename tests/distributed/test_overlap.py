"""Overlap of the gradient exchange with backward (overlap=True): the autograd hook that says
when a leaf's gradient is final, and the equivalence of overlapped data-parallel training with
one process on the global batch (plain, fused and unfused, uneven shards, loss scaling,
accumulation, compressed exchange). MPI tests pass at any number of ranks."""
import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import distributed, optimizers
from dchain.distributed import overlap as overlap_module
from dchain.distributed.agreement import CollectiveMismatchError
from dchain.variable import watch_grads


def test_watch_grads_reports_each_leaf_once_when_its_gradient_is_final():
    a = dchain.Parameter(numpy.array([2.0], numpy.float32))
    b = dchain.Parameter(numpy.array([3.0], numpy.float32))
    unused = dchain.Parameter(numpy.array([1.0], numpy.float32))
    events = []

    def ready(leaf):
        events.append((leaf.name, None if leaf.grad is None else float(leaf.grad[0])))

    a.name, b.name, unused.name = 'a', 'b', 'unused'
    h = a * b            # a is used twice: its gradient is final only after both uses
    y = F.sum(h * a + b)
    nodes = []
    with watch_grads([a, b, unused], ready, lambda: nodes.append(len(events))):
        y.backward()
    assert sorted(events[:2]) == [('a', 2 * 2.0 * 3.0), ('b', 2.0 * 2.0 + 1.0)]
    assert events[2] == ('unused', None)   # reported when the walk ends
    assert len(events) == 3
    assert nodes and nodes[0] == 0 and nodes[-1] == 2   # ready during the walk, not after
    # outside the context, backward reports nothing
    events.clear()
    F.sum(a * b).backward()
    assert events == []


class _Recomputed(dchain.FunctionNode):
    """x * x whose backward recomputes the product and runs a backward of its own."""

    def forward(self, inputs):
        self.retain_inputs((0,))
        return inputs[0] * inputs[0],

    def backward(self, indexes, grad_outputs):
        x = dchain.Variable(self.get_retained_inputs()[0].array.copy())
        with dchain.using_config('enable_backprop', True):
            y = F.sum(x * x * grad_outputs[0].array)
        y.backward()
        return x.grad_var,


def test_watch_grads_is_not_seen_by_a_nested_backward():
    a = dchain.Parameter(numpy.array([2.0, 1.0], numpy.float32))
    events = []
    with watch_grads([a], lambda leaf: events.append(leaf.grad.copy())):
        y = F.sum(_Recomputed().apply((a,))[0])
        y.backward()
    assert len(events) == 1
    numpy.testing.assert_allclose(events[0], [4.0, 2.0])


class Net(dchain.Chain):
    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(5, 8)
            self.l2 = L.Linear(8, 6)
            self.l3 = L.Linear(6, 3)

    def forward(self, x):
        return self.l3(F.relu(self.l2(F.tanh(self.l1(x)))))


def make_model():
    dchain.random.seed(3)
    return L.Classifier(Net())


def make_data(n=30):
    rng = numpy.random.default_rng(0)
    return (rng.standard_normal((n, 5)).astype(numpy.float32),
            rng.integers(0, 3, n).astype(numpy.int32))


def weights(model):
    return {path: p.data.copy() for path, p in model.namedparams()}


def assert_close(a, b):
    assert a.keys() == b.keys()
    for key in a:
        numpy.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)


def train(comm, make_optimizer, batches, **options):
    model = make_model()
    optimizer = distributed.create_multi_node_optimizer(make_optimizer(), comm, **options)
    optimizer.setup(model)
    for x, t in batches:
        optimizer.update(model, *shard(comm, x, t))
    return model, optimizer


def shard(comm, x, t):
    # uneven shards (a rank may get none): rank r takes every size-th sample from r
    return x[comm.rank::comm.size], t[comm.rank::comm.size]


def batches_of(sizes):
    x, t = make_data(sum(sizes))
    out, start = [], 0
    for size in sizes:
        out.append((x[start:start + size], t[start:start + size]))
        start += size
    return out


def _unfused():
    opt = optimizers.MomentumSGD(lr=0.2)
    opt.use_fused = False
    return opt


OPTIMIZERS = {'SGD': lambda: optimizers.SGD(lr=0.5),
              'Adam': lambda: optimizers.Adam(alpha=0.05),
              'unfused': _unfused}


@pytest.mark.mpi
@pytest.mark.parametrize('name', sorted(OPTIMIZERS))
@pytest.mark.parametrize('bucket_mb', [1e-4, 25])
def test_overlapped_training_equals_one_process_on_the_global_batch(name, bucket_mb):
    comm = distributed.create_communicator('mpi')
    batches = batches_of([7, 2, 9, 1])   # uneven, some ranks empty in a step
    model, optimizer = train(comm, OPTIMIZERS[name], batches, overlap=True,
                             bucket_mb=bucket_mb)
    single = distributed.create_communicator('single')
    reference, _ = train(single, OPTIMIZERS[name], batches)
    assert_close(weights(model), weights(reference))
    if comm.size > 1:
        plan = optimizer._plan
        assert plan is not None   # the exchange went through the buckets
        assert (len(plan.buckets) > 1) == (bucket_mb < 1)
        everyone = comm.allgather_obj({k: v.tolist() for k, v in weights(model).items()})
        assert all(theirs == everyone[0] for theirs in everyone)


@pytest.mark.mpi
def test_buckets_start_during_backward_in_plan_order(monkeypatch):
    comm = distributed.create_communicator('mpi')
    if comm.size < 2:
        pytest.skip('needs 2 ranks')
    log = []
    original_start = overlap_module.OverlappedExchange._start
    original_finish = overlap_module.OverlappedExchange.finish

    def start(self, k):
        log.append(k)
        original_start(self, k)

    def finish(self):
        log.append('finish')
        original_finish(self)

    monkeypatch.setattr(overlap_module.OverlappedExchange, '_start', start)
    monkeypatch.setattr(overlap_module.OverlappedExchange, 'finish', finish)
    batches = batches_of([6 * comm.size, 6 * comm.size])
    _, optimizer = train(comm, OPTIMIZERS['SGD'], batches, overlap=True, bucket_mb=1e-4)
    n = len(optimizer._plan.buckets)
    # the first update checks the model and exchanges without overlap; in the second every
    # bucket starts during backward, in plan order, before the update waits
    assert log == list(range(n)) + ['finish']


@pytest.mark.mpi
def test_overlap_with_dynamic_loss_scaling_skips_the_inf_step_on_every_rank():
    comm = distributed.create_communicator('mpi')
    batches = batches_of([6, 6, 6])
    x, t = batches[1]
    x = x.copy()
    x[-1, 0] = numpy.inf
    batches[1] = (x, t)

    def run(comm, **options):
        model = make_model()
        opt = distributed.create_multi_node_optimizer(optimizers.Adam(alpha=0.1), comm,
                                                      **options).setup(model)
        opt.loss_scaling(interval=2)
        scales = []
        for xb, tb in batches:
            with numpy.errstate(all='ignore'):
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    opt.update(model, *shard(comm, xb, tb))
            scales.append(opt.loss_scale)
        return model, scales

    model, scales = run(comm, overlap=True, bucket_mb=1e-4)
    reference, ref_scales = run(distributed.create_communicator('single'))
    assert scales == pytest.approx(ref_scales)
    assert scales[1] < scales[0]   # halved at the step with the inf
    assert_close(weights(model), weights(reference))


@pytest.mark.mpi
@pytest.mark.parametrize('options', [{'micro_batches': 3}, {'backward_passes_per_step': 2}])
def test_overlap_with_accumulation_equals_one_process(options):
    comm = distributed.create_communicator('mpi')
    batches = batches_of([9, 8, 9, 4])
    model, _ = train(comm, OPTIMIZERS['Adam'], batches, overlap=True, bucket_mb=1e-4,
                     **options)
    single = distributed.create_communicator('single')
    reference, _ = train(single, OPTIMIZERS['Adam'], batches, **options)
    assert_close(weights(model), weights(reference))


@pytest.mark.mpi
def test_overlap_with_the_compressed_exchange_equals_it_without_overlap():
    batches = batches_of([8, 8, 8])
    comm = distributed.create_communicator('mpi', allreduce_grad_dtype='float16')
    model, _ = train(comm, OPTIMIZERS['SGD'], batches, overlap=True, bucket_mb=1e-4)
    plain, _ = train(comm, OPTIMIZERS['SGD'], batches)
    for key, value in weights(model).items():
        numpy.testing.assert_array_equal(value, weights(plain)[key], err_msg=key)


@pytest.mark.mpi
def test_overlap_on_some_ranks_only_is_caught_with_what_differs():
    comm = distributed.create_communicator('mpi')
    if comm.size < 2:
        pytest.skip('needs 2 ranks')
    with pytest.raises(CollectiveMismatchError) as caught:
        train(comm, OPTIMIZERS['SGD'], batches_of([8, 8]), overlap=comm.rank == 0)
    assert 'overlap' in str(caught.value)


@pytest.mark.parametrize('options, named', [
    ({'shard_optimizer_state': True}, 'shard_optimizer_state'),
    ({'deterministic': True}, 'deterministic'),
    ({'zero_fill': False}, 'zero_fill=False')])
def test_overlap_refuses_exchanges_that_run_after_backward(options, named):
    comm = distributed.create_communicator('single')
    with pytest.raises(ValueError, match='overlap=True cannot be combined with ' + named):
        distributed.create_multi_node_optimizer(optimizers.SGD(), comm, overlap=True, **options)


@pytest.mark.parametrize('bucket_mb', [0, -1, 'big', True])
def test_bucket_mb_must_be_positive(bucket_mb):
    comm = distributed.create_communicator('single')
    with pytest.raises(ValueError, match='bucket_mb must be a positive number'):
        distributed.create_multi_node_optimizer(optimizers.SGD(), comm, bucket_mb=bucket_mb)


@pytest.mark.mpi
def test_with_micro_batches_only_the_last_one_overlaps(monkeypatch):
    comm = distributed.create_communicator('mpi')
    if comm.size < 2:
        pytest.skip('needs 2 ranks')
    log = []
    original = overlap_module.OverlappedExchange.watch

    def watch(self):
        log.append('watch')
        return original(self)

    monkeypatch.setattr(overlap_module.OverlappedExchange, 'watch', watch)
    batches = batches_of([9 * comm.size] * 3)
    model, _ = train(comm, OPTIMIZERS['Adam'], batches, overlap=True, bucket_mb=1e-4,
                     micro_batches=3)
    # one overlapped backward per step, the last of its three micro-batches (the model is
    # checked before the first micro-batch, so the first step overlaps too)
    assert log == ['watch'] * 3
    reference, _ = train(distributed.create_communicator('single'), OPTIMIZERS['Adam'],
                         batches, micro_batches=3)
    assert_close(weights(model), weights(reference))


@pytest.mark.mpi
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float16])
def test_bucketed_allreduce_sums_the_announced_array_in_pieces(dtype):
    comm = distributed.create_communicator('mpi')
    array = (numpy.arange(10) + comm.rank).astype(dtype)
    comm.check_collective('allreduce', numpy.int64, 1, announce=(dtype, 10))
    buckets = comm.bucketed_allreduce(dtype, 10)
    buckets.start(array[7:])
    buckets.test()
    buckets.start(array[:7])
    with pytest.raises(RuntimeError, match='pieces adding up to 10'):
        buckets.start(array[:1])
    buckets.wait()
    expected = comm.size * numpy.arange(10) + sum(range(comm.size))
    numpy.testing.assert_array_equal(array, expected.astype(dtype))


@pytest.mark.mpi
def test_bucketed_allreduce_needs_its_announcement():
    comm = distributed.create_communicator('mpi')
    with pytest.raises(RuntimeError, match='the announced allreduce was none'):
        comm.bucketed_allreduce(numpy.float32, 10)
    comm.check_collective('allreduce', numpy.int64, 1, announce=(numpy.float32, 10))
    buckets = comm.bucketed_allreduce(numpy.float32, 10)
    buckets.start(numpy.zeros(4, numpy.float32))
    with pytest.raises(RuntimeError, match='4 of the 10 announced elements'):
        buckets.wait()
    buckets.start(numpy.zeros(6, numpy.float32))
    buckets.wait()
