import os
import subprocess
import sys

import numpy
import pytest

from dchain import distributed


@pytest.mark.slow
def test_single_needs_no_mpi():
    code = ('import sys, numpy\n'
            'sys.modules["mpi4py"] = None\n'
            'from dchain import distributed\n'
            'c = distributed.create_communicator("single")\n'
            'print(c.rank, c.size, c.intra_rank, c.inter_size, c.allreduce(numpy.ones(2)).sum())\n'
            'print(distributed.create_communicator().name)\n')
    env = {k: v for k, v in os.environ.items() if k not in distributed._MPI_ENV}
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    assert out == ['0', '1', '0', '1', '2.0', 'single']


def test_single_collectives_return_inputs():
    comm = distributed.create_communicator('single')
    x = numpy.arange(3.0)
    assert (comm.allreduce(x) == x).all() and comm.allreduce(x) is not x
    assert comm.bcast(x) is x
    assert comm.allgather_obj('a') == ['a'] and comm.gather_obj(1) == [1]
    assert comm.allreduce_obj(5) == 5 and comm.bcast_obj('b') == 'b'
    comm.barrier()
    assert comm.split(0, 0).size == 1


def test_single_array_collectives():
    # ChainerMN's comm.allgather, alltoall, gather and scatter on one process
    comm = distributed.create_communicator('single')
    x = numpy.arange(6, dtype=numpy.float32).reshape(2, 3)
    for result in (comm.allgather(x), comm.alltoall([x]), comm.gather(x)):
        assert isinstance(result, tuple) and len(result) == 1
        numpy.testing.assert_array_equal(result[0], x)
    numpy.testing.assert_array_equal(comm.scatter([x]), x)
    numpy.testing.assert_array_equal(comm.scatter(x[None]), x)
    with pytest.raises(ValueError, match=r'scatter: xs must hold comm.size \(1\) arrays'):
        comm.scatter([x, x])
    with pytest.raises(TypeError, match='gather: x must be a numpy or cupy array, got int'):
        comm.gather(3)


def test_unknown_name():
    with pytest.raises(ValueError, match="create_communicator: communicator_name must be one "
                                         "of .*got 'bogus'"):
        distributed.create_communicator('bogus')


@pytest.mark.parametrize('name', ['pure_nccl', 'hierarchical', 'two_dimensional', 'single_node',
                                  'non_cuda_aware'])
def test_chainermn_gpu_names_are_nccl(name):
    # ChainerMN's GPU communicators all become 'nccl'; without CuPy that says what is missing
    try:
        import cupy  # noqa: F401
        pytest.skip('CuPy is installed: this checks the message without it')
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match=r"create_communicator\('nccl'\): a GPU needs CuPy"):
        distributed.create_communicator(name)


def test_aliases_build_mpi_communicators():
    pytest.importorskip('mpi4py')
    for name in ('mpi', 'naive', 'flat'):
        comm = distributed.create_communicator(name)
        assert type(comm).__name__ == 'MpiCommunicator' and comm.name == 'mpi'


def test_bad_timeout(monkeypatch):
    monkeypatch.setenv('DCHAIN_COLLECTIVE_TIMEOUT', 'soon')
    pytest.importorskip('mpi4py')
    with pytest.raises(ValueError, match="DCHAIN_COLLECTIVE_TIMEOUT must be a number of "
                                         "seconds, got 'soon'"):
        distributed.create_communicator('mpi')
    monkeypatch.setenv('DCHAIN_COLLECTIVE_TIMEOUT', '-5')
    with pytest.raises(ValueError, match='create_communicator: the environment variable '
                                         'DCHAIN_COLLECTIVE_TIMEOUT must be positive seconds, '
                                         'got -5'):
        distributed.create_communicator('mpi')
    monkeypatch.delenv('DCHAIN_COLLECTIVE_TIMEOUT')
    with pytest.raises(ValueError, match='create_communicator: timeout must be positive '
                                         'seconds, got -1'):
        distributed.create_communicator('mpi', timeout=-1)


def test_single_root_errors_name_the_operation():
    comm = distributed.create_communicator('single')
    with pytest.raises(ValueError, match=r'bcast: root must be a rank in \[0, 1\), got 1'):
        comm.bcast(numpy.ones(2), root=1)
    with pytest.raises(ValueError, match=r'bcast_obj: root must be a rank in \[0, 1\), got 2'):
        comm.bcast_obj('b', root=2)
    with pytest.raises(ValueError, match=r'gather_obj: root must be a rank in \[0, 1\), got -1'):
        comm.gather_obj(1, root=-1)
