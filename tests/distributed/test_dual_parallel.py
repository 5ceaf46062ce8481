"""Model parallelism inside data parallelism (ChainerMN's dual-parallel recipe) on 4 ranks:
ranks 0 and 2 hold the first stage (sized), ranks 1 and 3 the second, with lazily sized links.
The first update's forward that sizes the lazy links exchanges with the other stage, so both
stages must run it; then the data-parallel groups hold identical parameters.

Launches mpirun -n 4 itself (slow)."""
import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip('mpi4py')
MPIRUN = shutil.which('mpirun', path=os.path.dirname(sys.executable) + os.pathsep +
                      os.environ.get('PATH', ''))
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MPIRUN is None, reason='mpirun not found')]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

JOB = '''\
import numpy
import dchain
import dchain.functions as F
import dchain.links as L
from dchain import distributed, optimizers

comm = distributed.create_communicator('mpi')
data_axis, model_axis = comm.rank % 2, comm.rank // 2
data_comm = comm.split(data_axis, comm.rank)
model_comm = comm.split(model_axis, comm.rank)
dchain.random.seed(comm.rank)   # every rank draws different initial values


class Passing(dchain.Chain):
    def forward(self, y):
        return y


class Stage0(distributed.MultiNodeChainList):
    def __init__(self, comm):
        super().__init__(comm)
        self.add_link(L.Linear(4, 6), rank_in=None, rank_out=1)
        self.add_link(Passing(), rank_in=1, rank_out=None)


class Stage1(distributed.MultiNodeChainList):
    def __init__(self, comm):
        super().__init__(comm)
        self.add_link(dchain.Sequential(L.Linear(None, 5), F.relu, L.Linear(None, 3)),
                      rank_in=0, rank_out=0)


model = L.Classifier(Stage0(model_comm)) if data_axis == 0 else Stage1(model_comm)
optimizer = distributed.create_multi_node_optimizer(optimizers.Adam(), data_comm)
optimizer.setup(model)
rng = numpy.random.default_rng(model_axis)
for step in range(3):
    if data_axis == 0:
        x = rng.standard_normal((5, 4)).astype(numpy.float32)
        t = rng.integers(0, 3, 5).astype(numpy.int32)
        optimizer.update(model, x, t)
    else:
        optimizer.update(model)
mine = {path: p.array for path, p in model.namedparams()}
assert all(p is not None for p in mine.values()), sorted(mine)
for theirs in data_comm.allgather_obj(mine):
    for path in mine:
        numpy.testing.assert_array_equal(theirs[path], mine[path], err_msg=path)
print('rank {} in step: {}'.format(comm.rank, ', '.join(sorted(mine))), flush=True)
'''


def test_lazy_links_in_a_pipeline_inside_data_parallel_groups(tmp_path):
    script = tmp_path / 'job.py'
    script.write_text(JOB)
    environment = dict(os.environ, OMP_NUM_THREADS='1', DCHAIN_COLLECTIVE_TIMEOUT='60',
                       PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    result = subprocess.run([MPIRUN, '-n', '4', sys.executable, str(script)],
                            capture_output=True, text=True, timeout=300, env=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    for rank in range(4):
        assert 'rank {} in step'.format(rank) in result.stdout
    assert '/0/0/W' in result.stdout   # the lazily sized links of the second stage
