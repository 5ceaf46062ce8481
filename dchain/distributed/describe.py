"""describe: the one-line-per-fact summary rank 0 prints at the start of a run."""
import os
import platform

import dchain
from dchain import _threads


def _mpi_library():
    try:
        from mpi4py import MPI
    except ImportError:
        return 'none (mpi4py not installed)'
    first_line = MPI.Get_library_version().strip().splitlines()[0]
    return ' '.join(first_line.split())


def describe(comm, device):
    """A short report of what runs: ranks, nodes, devices, threads, MPI and dchain versions.

    Collective: every rank must call it (it gathers each rank's device and host).
    """
    mine = (platform.node(), str(device))
    everyone = comm.allgather_obj(mine)
    hosts = sorted({host for host, _ in everyone})
    devices = sorted({dev for _, dev in everyone})
    lines = [
        'dchain {}: {} rank(s) on {} node(s) ({}), communicator {}'.format(
            dchain.__version__, comm.size, len(hosts), ', '.join(hosts), comm.name),
        '  devices: {}'.format(', '.join('{} x{}'.format(
            dev, sum(1 for _, d in everyone if d == dev)) for dev in devices)),
        '  threads per rank: OMP_NUM_THREADS={}{}'.format(
            os.environ.get('OMP_NUM_THREADS', 'unset'),
            ' ({})'.format(_threads.reason) if _threads.reason else ''),
        '  MPI: {}'.format(_mpi_library() if comm.name != 'single' else
                           'not used (single process)'),
    ]
    return '\n'.join(lines)
