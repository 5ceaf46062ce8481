"""The example's --aggregate-metrics, --timeline, --accumulate, --overlap and
--shard-optimizer-state on any number of ranks."""
import json
import os
import sys

import numpy
import pytest

from dchain import distributed


def load_example():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'examples'))
    try:
        import mnist
    finally:
        sys.path.pop(0)
    return mnist


def log_losses(folder):
    with open(os.path.join(folder, 'log')) as stream:
        return [entry['main/loss'] for entry in json.load(stream)]


@pytest.mark.mpi
@pytest.mark.slow
def test_aggregated_metrics_are_those_of_the_whole_global_batch(mpi_tmp_path, tmp_path):
    comm = distributed.create_communicator('mpi')
    mnist = load_example()
    common = ['--epoch', '1', '--unit', '20', '--batchsize', '60', '--frequency', '1']
    out = mpi_tmp_path / 'many'
    mnist.main(common + ['--out', str(out), '--aggregate-metrics', '--timeline', 'trace.json',
                         '--accumulate', '3'])
    single = tmp_path / 'single'  # each rank's own one-process run
    mnist.main(common + ['--out', str(single), '--communicator', 'single'])
    comm.barrier()
    if comm.rank != 0:
        return
    # 60 divides by 1, 2, 3, 4, 5 and 6 ranks: the mean of the shares is the global mean;
    # 3 micro-batches per share give the same updates as one
    assert log_losses(out) == pytest.approx(log_losses(single), rel=1e-4)
    with open(out / 'trace.json') as stream:
        trace = json.load(stream)
    ranks = {event['pid'] for event in trace['traceEvents'] if event['ph'] == 'X'}
    assert ranks == set(range(comm.size))


def model_arrays(path):
    with numpy.load(str(path)) as npz:
        return {key: npz[key] for key in npz.files}


@pytest.mark.mpi
@pytest.mark.slow
@pytest.mark.parametrize('option', ['--overlap', '--shard-optimizer-state'])
def test_overlap_and_sharded_state_train_as_one_process(mpi_tmp_path, tmp_path, option):
    comm = distributed.create_communicator('mpi')
    mnist = load_example()
    common = ['--epoch', '1', '--unit', '20', '--batchsize', '60', '--dtype', 'float64']
    out = mpi_tmp_path / 'many'
    mnist.main(common + ['--out', str(out), option])
    single = tmp_path / 'single'  # each rank's own one-process run, neither option
    mnist.main(common + ['--out', str(single), '--communicator', 'single'])
    comm.barrier()
    if comm.rank != 0:
        return
    expected = model_arrays(single / 'model.npz')
    actual = model_arrays(out / 'model.npz')
    assert sorted(actual) == sorted(expected)
    for key in expected:
        numpy.testing.assert_allclose(actual[key], expected[key], rtol=0, atol=1e-10,
                                      err_msg=key)
