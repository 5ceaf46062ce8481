"""Threads per rank: a default for OMP_NUM_THREADS when several ranks share a node.

Every BLAS and OpenMP runtime starts one thread per core. With K ranks on a node that is K
times too many threads, and the contention can make training several times slower. When this
process is one of several ranks on its node and the user set no OMP_NUM_THREADS, it becomes
the CPUs this process may run on divided by the ranks on the node (at least 1).

This must run before NumPy loads its BLAS, so ``dchain/__init__.py`` imports this module first,
the import applies the default, and this module imports nothing but os and sys.
"""
import os
import sys

# Where launchers say how many ranks run on this node, most specific first.
_LOCAL_SIZE_VARIABLES = (
    'MPI_LOCALNRANKS',              # MPICH hydra (also Intel MPI, MVAPICH2 under hydra)
    'OMPI_COMM_WORLD_LOCAL_SIZE',   # Open MPI
    'MV2_COMM_WORLD_LOCAL_SIZE',    # MVAPICH2's own launcher
    'PALS_LOCAL_SIZE',              # HPE/Cray PALS (PBS Pro on Cray systems)
)
_BLAS_VARIABLES = ('OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')

# What apply() did, for the start banner: None, or a short explanation.
reason = None


def _positive_int(text):
    try:
        value = int(text)
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def _slurm_tasks_on_this_node(environ):
    """Tasks of this srun step on this node, from e.g. SLURM_STEP_TASKS_PER_NODE='4(x2),3'."""
    if 'SLURM_STEP_ID' not in environ:      # the batch script itself is not a rank
        return None
    layout = environ.get('SLURM_STEP_TASKS_PER_NODE') or environ.get('SLURM_TASKS_PER_NODE')
    if not layout:
        return None
    counts = []
    for part in layout.split(','):
        count, _, repeat = part.partition('(x')
        count, repeat = _positive_int(count), _positive_int(repeat.rstrip(')') or '1')
        if count is None or repeat is None:
            return None
        counts.extend([count] * repeat)
    node = _positive_int(environ.get('SLURM_NODEID', '0'))
    node = 0 if node is None else node
    if node >= len(counts):
        return counts[0] if len(set(counts)) == 1 else None
    return counts[node]


def local_ranks(environ):
    """How many ranks of this job run on this node, or None when no launcher says so."""
    for name in _LOCAL_SIZE_VARIABLES:
        count = _positive_int(environ.get(name))
        if count is not None:
            return count, name
    count = _slurm_tasks_on_this_node(environ)
    if count is not None:
        return count, 'SLURM_STEP_TASKS_PER_NODE'
    # Torque's processes per node, trusted only when an MPI launcher started this process.
    if 'PMI_RANK' in environ or 'PMI_FD' in environ:
        count = _positive_int(environ.get('PBS_NUM_PPN'))
        if count is not None:
            return count, 'PBS_NUM_PPN'
    return None, None


def _cpus():
    try:
        # The CPUs this process may run on: a batch system's cpuset or a launcher's binding
        # makes that fewer than the machine has, and dividing fewer never oversubscribes.
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_threads(environ):
    """(threads, reason) to use when OMP_NUM_THREADS is unset, or (None, None) to leave it."""
    ranks, source = local_ranks(environ)
    if ranks is None or ranks < 2:
        return None, None
    per_task = _positive_int(environ.get('SLURM_CPUS_PER_TASK'))
    if per_task is not None and source == 'SLURM_STEP_TASKS_PER_NODE':
        return per_task, 'SLURM_CPUS_PER_TASK'
    cpus = _cpus()
    return max(1, cpus // ranks), '{} CPUs / {} ranks on the node ({})'.format(
        cpus, ranks, source)


def apply(environ=None):
    """Set OMP_NUM_THREADS (and OPENBLAS/MKL_NUM_THREADS where unset) if the user did not.

    Does nothing once NumPy is loaded: its BLAS has already read the variables then.
    """
    global reason
    environ = os.environ if environ is None else environ
    if 'OMP_NUM_THREADS' in environ or 'numpy' in sys.modules:
        return None
    threads, why = default_threads(environ)
    if threads is None:
        return None
    environ['OMP_NUM_THREADS'] = str(threads)
    for name in _BLAS_VARIABLES:
        environ.setdefault(name, str(threads))
    reason = 'set by dchain: ' + why
    return threads


apply()
