"""Ranks that disagree on a collective are caught before any data moves: every rank raises
an error saying what differs, and the job ends well within the collective timeout (never an
UnpicklingError, an EOFError, an MPICH assertion, or garbage with exit code 0).

Each test launches a small job with mpirun, so these run in the single-process suite.
"""
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip('mpi4py')
MPIRUN = shutil.which('mpirun', path=os.path.dirname(sys.executable) + os.pathsep +
                      os.environ.get('PATH', ''))
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MPIRUN is None, reason='mpirun not found')]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 600  # the collective timeout of the jobs: a timeout is not what ends them


def run_job(tmp_path, body, n=2):
    script = tmp_path / 'job.py'
    script.write_text(textwrap.dedent('''\
        import numpy
        import dchain
        import dchain.links as L
        from dchain import distributed, optimizers, serializers, training
        from dchain.training import extensions
        comm = distributed.create_communicator('mpi')
        ''') + textwrap.dedent(body))
    environment = dict(os.environ, OMP_NUM_THREADS='1', DCHAIN_COLLECTIVE_TIMEOUT=str(TIMEOUT),
                       PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    start = time.monotonic()
    result = subprocess.run([MPIRUN, '-n', str(n), sys.executable, str(script)],
                            capture_output=True, text=True, timeout=TIMEOUT, env=environment)
    elapsed = time.monotonic() - start
    assert result.returncode != 0, result.stdout + result.stderr
    assert elapsed < TIMEOUT / 5
    for bad in ('UnpicklingError', 'EOFError', 'Assertion', 'did not complete within'):
        assert bad not in result.stderr, result.stderr
    return result.stderr


def assert_every_rank_says(stderr, text, n=2):
    for rank in range(n):
        assert '[rank {}] '.format(rank) in stderr and text in stderr, stderr
    lines = [line for line in stderr.splitlines() if text in line]
    assert {line.split(']')[0] for line in lines} == {'[rank {}'.format(r) for r in range(n)}, \
        stderr


def test_different_dtypes(tmp_path):
    stderr = run_job(tmp_path, '''
        comm.allreduce(numpy.ones(3))
        comm.allreduce(numpy.ones(8, numpy.float32 if comm.rank == 0 else numpy.float64))
        ''')
    assert_every_rank_says(stderr, 'allreduce #2: rank 0 sends float32[8], rank 1 sends '
                                   'float64[8]')


def test_different_counts_at_three_ranks(tmp_path):
    stderr = run_job(tmp_path, '''
        buffer = numpy.zeros(8 + (comm.rank == 2), numpy.float32)
        comm.allreduce_inplace(buffer)
        ''', n=3)
    assert_every_rank_says(stderr, 'allreduce #1: ranks 0, 1 send float32[8], rank 2 sends '
                                   'float32[9]', n=3)


def test_different_operations_and_objects(tmp_path):
    """Rank 0 alone runs an object collective (as a rank-0-only extension might)."""
    stderr = run_job(tmp_path, '''
        if comm.rank == 0:
            comm.allgather_obj({'model': 'check'})
        comm.allreduce(numpy.ones(4, numpy.float32))
        ''')
    assert_every_rank_says(stderr, 'collective #1: rank 0 calls allgather_obj (an object), '
                                   'rank 1 calls allreduce float32[4]')


def test_different_roots_and_reductions(tmp_path):
    stderr = run_job(tmp_path, '''
        comm.bcast_obj('x', root=comm.rank)
        ''')
    assert_every_rank_says(stderr, 'bcast_obj #1: rank 0 names root 0, rank 1 names root 1')
    stderr = run_job(tmp_path, '''
        comm.allreduce(numpy.ones(2), 'max' if comm.rank else 'sum')
        ''')
    assert_every_rank_says(stderr, "allreduce #1: rank 0 reduces with 'sum', rank 1 reduces "
                                   "with 'max'")


def test_array_collectives_of_chainermn(tmp_path):
    """comm.scatter and comm.alltoall (built on point-to-point messages) are checked too."""
    stderr = run_job(tmp_path, '''
        comm.scatter([numpy.ones(2)] * comm.size, root=comm.rank)
        ''')
    assert_every_rank_says(stderr, 'scatter #1: rank 0 names root 0, rank 1 names root 1')
    stderr = run_job(tmp_path, '''
        if comm.rank == 0:
            comm.alltoall([numpy.ones(2)] * comm.size)
        else:
            comm.scatter(None)
        ''')
    assert_every_rank_says(stderr, 'collective #1: rank 0 calls alltoall, rank 1 calls '
                                   'scatter')


def test_a_rank_that_skips_an_update(tmp_path):
    """The skipping rank ends its loop one update early: its exit meets the other rank's
    last update."""
    stderr = run_job(tmp_path, """
        model = L.Classifier(L.Linear(3, 2))
        opt = distributed.create_multi_node_optimizer(optimizers.SGD(), comm).setup(model)
        for step in range(4):
            if comm.rank == 1 and step == 2:
                continue
            opt.update(model, numpy.ones((2, 3), numpy.float32), numpy.zeros(2, numpy.int32))
        """)
    assert_every_rank_says(stderr, 'rank 0 calls allreduce int64[16], rank 1 calls exit')
    assert 'a rank skipped an update' in stderr


def test_ranks_at_different_updates(tmp_path):
    """A rank that resumed from another snapshot is at another update count."""
    stderr = run_job(tmp_path, """
        model = L.Classifier(L.Linear(3, 2))
        opt = distributed.create_multi_node_optimizer(optimizers.SGD(), comm).setup(model)
        opt.update(model, numpy.ones((2, 3), numpy.float32), numpy.zeros(2, numpy.int32))
        if comm.rank == 1:
            opt.t = 7   # as if it had loaded an older snapshot than rank 0
        opt.update(model, numpy.ones((2, 3), numpy.float32), numpy.zeros(2, numpy.int32))
        """)
    assert_every_rank_says(stderr, 'MultiNodeOptimizer.update: the ranks are at different '
                                   'updates (rank 0 has done 1, rank 1 has done 7)')


def test_a_dataset_one_example_longer(tmp_path):
    stderr = run_job(tmp_path, '''
        data = list(range(100 + (comm.rank == 1)))
        distributed.ShardedIterator(data, 10, comm, seed=0)
        ''')
    assert_every_rank_says(stderr, 'ShardedIterator: every rank must have the same dataset '
                                   'length, but rank 0 has 100, rank 1 has 101')


def test_an_evaluator_with_another_seed(tmp_path):
    stderr = run_job(tmp_path, '''
        model = L.Classifier(L.Linear(3, 2))
        data = list(range(10))
        iterator = distributed.ShardedIterator.__new__(distributed.ShardedIterator)
        iterator.__dict__.update(dataset=data, batch_size=4, comm=comm, seed=comm.rank,
                                 shuffle=True, repeat=False)
        distributed.create_multi_node_evaluator(extensions.Evaluator(iterator, model), comm)
        ''')
    assert_every_rank_says(stderr, "create_multi_node_evaluator (iterator 'main'): every rank "
                                   "must have the same seed, but rank 0 has 0, rank 1 has 1")
