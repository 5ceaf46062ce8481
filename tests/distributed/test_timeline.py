"""extensions.Timeline: a Chrome trace with one box per phase per step per rank. The MPI test
passes at any number of ranks (with two or more, every step has an exchange)."""
import json

import numpy
import pytest

import dchain
import dchain.links as L
from dchain import _timeline, datasets, distributed, optimizers, training
from dchain.training import extensions


def make_trainer(comm, out, iterations, batch_size, timeline, plain=False):
    dchain.random.seed(0)
    model = L.Classifier(L.Linear(4, 3))
    optimizer = optimizers.SGD() if plain else \
        distributed.create_multi_node_optimizer(optimizers.SGD(), comm)
    optimizer.setup(model)
    rng = numpy.random.default_rng(0)
    train = datasets.TupleDataset(rng.standard_normal((12, 4)).astype(numpy.float32),
                                  rng.integers(0, 3, 12).astype(numpy.int32))
    iterator = distributed.ShardedIterator(train, batch_size, comm)
    trainer = training.Trainer(training.StandardUpdater(iterator, optimizer),
                               (iterations, 'iteration'), out=str(out))
    trainer.extend(timeline)
    return trainer


def read_trace(path):
    with open(path) as stream:
        document = json.load(stream)  # valid JSON
    boxes = [e for e in document['traceEvents'] if e['ph'] == 'X']
    names = {e['pid']: e['args']['name'] for e in document['traceEvents']
             if e['name'] == 'process_name'}
    return boxes, names


def phases_per_step(boxes, rank):
    out = {}
    for box in boxes:
        if box['pid'] == rank:
            out.setdefault(box['args']['step'], []).append(box['name'])
    return out


@pytest.mark.parametrize('mpi', [False, pytest.param(True, marks=pytest.mark.mpi)])
def test_one_box_per_phase_per_step_per_rank(mpi, tmp_path):
    comm = distributed.create_communicator('mpi' if mpi else 'single')
    out = tmp_path / 'run'  # rank 0's folder is the one written
    # 7 iterations of 3 per global batch over 12 examples: epochs end at 4; written at 4 and 7
    trainer = make_trainer(comm, out, 7, 3 * comm.size, extensions.Timeline(comm=comm))
    trainer.run()
    if comm.rank != 0:
        return
    boxes, names = read_trace(out / 'timeline.json')
    assert names == {r: 'rank {}'.format(r) for r in range(comm.size)}
    expected = ['forward', 'backward'] + (['exchange'] if comm.size > 1 else []) + ['update']
    for rank in range(comm.size):
        assert phases_per_step(boxes, rank) == {step: expected for step in range(1, 8)}
    for box in boxes:
        assert box['dur'] >= 0 and box['ts'] >= 0
    ordered = sorted((b for b in boxes if b['pid'] == 0), key=lambda b: b['ts'])
    assert [b['name'] for b in ordered[:len(expected)]] == expected  # in time order


def test_plain_optimizer_and_custom_write_trigger(tmp_path):
    comm = distributed.create_communicator('single')
    timeline = extensions.Timeline('trace.json', write_trigger=(2, 'iteration'))
    make_trainer(comm, tmp_path, 3, 4, timeline, plain=True).run()
    boxes, _ = read_trace(tmp_path / 'trace.json')
    assert phases_per_step(boxes, 0) == {s: ['forward', 'backward', 'update'] for s in (1, 2, 3)}
    assert _timeline._recorder is None  # stopped at the end


def test_nothing_is_recorded_without_a_timeline():
    assert _timeline.mark() is None
    _timeline.span('forward', None)  # no recorder: nothing to do, no error


def test_timeline_refuses_a_bad_filename():
    with pytest.raises(TypeError, match='filename must be a non-empty str'):
        extensions.Timeline(filename=None)
