"""Start a script on N ranks with whichever MPI is installed: ``python -m dchain.launch``.

    python -m dchain.launch -n 2 examples/mnist.py --epoch 5
    python -m dchain.launch --hostfile hosts -n 8 examples/mnist.py --epoch 5

It finds ``mpirun`` (``--mpirun``, else ``$DCHAIN_MPIRUN``, else the PATH, else beside this
Python), tells MPICH-family launchers (MPICH, Intel MPI, MVAPICH2: hydra) from Open MPI by
``mpirun --version``, converts the hostfile to that launcher's format when needed (MPICH
``host:slots``, Open MPI ``host slots=N``; plain ``host`` lines, one per slot as in
``$PBS_NODEFILE``, suit both), prints the exact command on stderr, runs it with this Python, and
exits with its exit status.

``--max-restarts K`` runs the job again after a failure, up to K times, saying in one line why;
the script resumes by its own autoload (``--resume auto`` in the examples). A job that stopped
with a snapshot on request (status 75, see ``dchain.training.checkpoints``), or that was ended
by a signal to this launcher, is not restarted.
"""
import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PROGRAM = 'dchain.launch'
_BARE = re.compile(r'^([A-Za-z0-9_.\-]+)$')
_MPICH = re.compile(r'^([A-Za-z0-9_.\-]+):([0-9]+)$')
_OPENMPI = re.compile(r'^([A-Za-z0-9_.\-]+)\s+slots\s*=\s*([0-9]+)(\s+max_slots\s*=\s*[0-9]+)?$')
# Open MPI passes to remote ranks only what -x names; hydra passes the whole environment.
STOPPED_STATUS = 75   # dchain.training.checkpoints.STOPPED_STATUS, without importing dchain
_FORWARD = ('PATH', 'LD_LIBRARY_PATH', 'PYTHONPATH', 'VIRTUAL_ENV', 'OMP_NUM_THREADS',
            'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'CUDA_VISIBLE_DEVICES')


class LaunchError(Exception):
    """A problem with the command line, the hostfile or the MPI installation."""


def read_hostfile(path):
    """Parse a hostfile into ``(hosts, style)``: hosts is a list of ``[host, slots]`` in order
    of first appearance (repeated hosts add up), style is the set of line formats used
    (``'bare'``, ``'mpich'``, ``'openmpi'``). Comments start with ``#``."""
    try:
        with open(path) as stream:
            lines = stream.read().splitlines()
    except OSError as error:
        raise LaunchError('--hostfile {}: cannot read it: {}'.format(
            path, error.strerror or error)) from None
    hosts, index, styles = [], {}, set()
    for number, line in enumerate(lines, 1):
        text = line.split('#', 1)[0].strip()
        if not text:
            continue
        for style, pattern in (('bare', _BARE), ('mpich', _MPICH), ('openmpi', _OPENMPI)):
            match = pattern.match(text)
            if match:
                break
        else:
            raise LaunchError(
                "--hostfile {} line {}: expected 'host', 'host:slots' (MPICH) or "
                "'host slots=N' (Open MPI), got {!r}".format(path, number, line.strip()))
        host = match.group(1)
        slots = int(match.group(2)) if style != 'bare' else 1
        if slots < 1:
            raise LaunchError('--hostfile {} line {}: slots must be at least 1, got {!r}'
                              .format(path, number, line.strip()))
        styles.add(style)
        if host in index:
            hosts[index[host]][1] += slots
        else:
            index[host] = len(hosts)
            hosts.append([host, slots])
    if not hosts:
        raise LaunchError('--hostfile {}: no hosts in it'.format(path))
    return hosts, styles


def format_hostfile(hosts, flavor):
    """The hostfile text for ``flavor`` ('mpich' or 'openmpi')."""
    pattern = '{}:{}\n' if flavor == 'mpich' else '{} slots={}\n'
    return ''.join(pattern.format(host, slots) for host, slots in hosts)


def find_mpirun(requested=None):
    """The launcher to use: ``requested``, else $DCHAIN_MPIRUN, else the PATH, else the one
    installed beside this Python (the ``mpich`` wheel in a virtual environment not activated)."""
    source = '--mpirun'
    if not requested and os.environ.get('DCHAIN_MPIRUN'):
        requested, source = os.environ['DCHAIN_MPIRUN'], 'the environment variable DCHAIN_MPIRUN'
    if requested:
        found = shutil.which(requested)
        if found is None:
            raise LaunchError('{} {}: no such executable'.format(source, requested))
        return found
    beside = shutil.which('mpirun', path=os.path.dirname(os.path.abspath(sys.executable)))
    found = shutil.which('mpirun') or beside
    if beside and os.path.realpath(found) != os.path.realpath(beside):
        # Each launcher suits its own MPI library: the wrong one starts N 1-rank jobs.
        print('{}: note: using {} from the PATH; this Python has its own {} (the mpich wheel); '
              'pass --mpirun to choose'.format(PROGRAM, found, beside), file=sys.stderr)
    if found is None:
        raise LaunchError('no mpirun on the PATH or beside {}: install the MPI extra '
                          "(pip install 'dchain[mpi]') or load your cluster's MPI"
                          .format(sys.executable))
    return found


def mpi_flavor(mpirun):
    """'mpich' (hydra: MPICH, Intel MPI, MVAPICH2) or 'openmpi', from ``mpirun --version``."""
    try:
        result = subprocess.run([mpirun, '--version'], capture_output=True, text=True,
                                timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise LaunchError('{} --version failed: {}'.format(mpirun, error)) from None
    text = result.stdout + result.stderr
    if 'Open MPI' in text or 'OpenRTE' in text or 'Open RTE' in text:
        return 'openmpi'
    if 'HYDRA' in text or 'Intel(R) MPI' in text or 'MPICH' in text:
        return 'mpich'
    first = text.strip().splitlines()[0] if text.strip() else '(no output)'
    raise LaunchError('cannot tell which MPI {} belongs to from its --version ({}); pass '
                      '--mpi mpich or --mpi openmpi'.format(mpirun, first))


def build_command(mpirun, flavor, ranks, hostfile, program, python=None, environ=None):
    """The launcher's argument list running ``python PROGRAM...`` on ``ranks`` ranks."""
    environ = os.environ if environ is None else environ
    command = [mpirun]
    if hostfile is not None:
        command += ['-f', hostfile] if flavor == 'mpich' else ['--hostfile', hostfile]
    command += ['-n', str(ranks)]
    if flavor == 'openmpi':
        for name in _FORWARD + tuple(sorted(n for n in environ if n.startswith('DCHAIN_'))):
            if name in environ:
                command += ['-x', name]
    return command + [python or sys.executable] + list(program)


def _parser():
    parser = argparse.ArgumentParser(
        prog='python -m ' + PROGRAM,
        description='Run SCRIPT with this Python on N MPI ranks (MPICH or Open MPI).',
        usage='python -m {} [-n N] [--hostfile FILE] [--mpirun PATH] [--mpi {{mpich,openmpi}}] '
              '[--max-restarts K] [--] SCRIPT [ARGS...]'.format(PROGRAM),
        epilog="After --, SCRIPT may also be '-m MODULE'. The command run is printed on stderr; "
               "the exit status is the job's.")
    parser.add_argument('-n', '--np', dest='ranks', type=int, default=None,
                        help='number of ranks (default: the slots in --hostfile, else 1)')
    parser.add_argument('--hostfile', '-f', default=None,
                        help="hosts to run on: lines 'host', 'host:slots' or 'host slots=N'")
    parser.add_argument('--mpirun', default=None,
                        help='launcher executable (default $DCHAIN_MPIRUN, else mpirun)')
    parser.add_argument('--mpi', choices=('mpich', 'openmpi'), default=None,
                        help='launcher family (default: from mpirun --version)')
    parser.add_argument('--max-restarts', type=int, default=0, metavar='K',
                        help='run the job again after a failure, up to K times; the script '
                             'resumes with its own autoload (e.g. --resume auto)')
    return parser


_TAKES_VALUE = ('-n', '--np', '--hostfile', '-f', '--mpirun', '--mpi', '--max-restarts')


def _split(argv):
    """(launcher options, program): the program starts at the first word that is neither an
    option of ours nor its value, or after ``--``; so ``-m MODULE`` can follow ``--``."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == '--':
            return argv[:index], argv[index + 1:]
        if not word.startswith('-'):
            break
        index += 2 if word in _TAKES_VALUE else 1
    return argv[:index], argv[index:]


def main(argv=None):
    """Parse ``argv``, run the job, return its exit status."""
    parser = _parser()
    options, program = _split(sys.argv[1:] if argv is None else list(argv))
    args = parser.parse_args(options)
    if not program:
        parser.error('SCRIPT is missing')
    if args.ranks is not None and args.ranks < 1:
        parser.error('-n must be at least 1, got {}'.format(args.ranks))
    if args.max_restarts < 0:
        parser.error('--max-restarts must be 0 or more, got {}'.format(args.max_restarts))
    if not program[0].startswith('-') and not os.path.isfile(program[0]):
        parser.error('SCRIPT: no such file: {}'.format(program[0]))
    temporary = None
    try:
        hosts, styles = read_hostfile(args.hostfile) if args.hostfile else (None, set())
        slots = sum(count for _, count in hosts) if hosts else None
        ranks = args.ranks or slots or 1
        if slots is not None and ranks > slots:
            raise LaunchError('-n {} is more than the {} slots in {}'.format(
                ranks, slots, args.hostfile))
        mpirun = find_mpirun(args.mpirun)
        flavor = args.mpi or mpi_flavor(mpirun)
        hostfile = args.hostfile
        if hosts and not styles <= {'bare', flavor}:
            # The other MPI's syntax: write this launcher's, kept until the job ends.
            handle, temporary = tempfile.mkstemp(prefix='dchain-hosts-', suffix='.txt')
            with os.fdopen(handle, 'w') as stream:
                stream.write(format_hostfile(hosts, flavor))
            hostfile = temporary
            print('{}: {} converted to {} format in {}'.format(
                PROGRAM, args.hostfile, flavor, temporary), file=sys.stderr)
        command = build_command(mpirun, flavor, ranks, hostfile, program)
        print('{}: {}'.format(PROGRAM, shlex.join(command)), file=sys.stderr, flush=True)
        return _run_with_restarts(command, args.max_restarts)
    except LaunchError as error:
        print('{}: {}'.format(PROGRAM, error), file=sys.stderr)
        return 2
    finally:
        if temporary is not None:
            os.unlink(temporary)


def _describe(code):
    if code > 128 and 0 < code - 128 < signal.NSIG:
        try:
            return 'status {} ({} on a rank or the launcher)'.format(
                code, signal.Signals(code - 128).name)
        except ValueError:
            pass
    return 'status {}'.format(code)


def _run_with_restarts(command, max_restarts):
    """Run the job; after a failure run it again, up to ``max_restarts`` times."""
    restarts = 0
    while True:
        code, signalled = _run(command, dict(os.environ, DCHAIN_RESTART_COUNT=str(restarts)))
        if code in (0, STOPPED_STATUS) or signalled or restarts >= max_restarts:
            if code not in (0, STOPPED_STATUS) and max_restarts and not signalled:
                print('{}: the job ended with {}; no restarts left ({} made)'.format(
                    PROGRAM, _describe(code), restarts), file=sys.stderr, flush=True)
            return code
        restarts += 1
        print('{}: the job ended with {}; restart {} of {} (the script resumes from its last '
              'snapshot with its own autoload, e.g. --resume auto)'.format(
                  PROGRAM, _describe(code), restarts, max_restarts), file=sys.stderr,
              flush=True)
        time.sleep(1)  # let the ranks of the failed job release their ports and files


def _run(command, environment=None):
    """Run the launcher, passing on SIGTERM/SIGHUP (a batch system ending the job; MPICH's and
    Open MPI's launchers pass SIGTERM on to the ranks, which stop with a snapshot).
    Returns (its status, or 128 + signal number when a signal ended it, as a shell reports
    it; whether this launcher got a signal meanwhile)."""
    process = subprocess.Popen(command, env=environment)
    signalled = []

    def forward(number, frame):
        signalled.append(number)
        process.send_signal(number)

    previous = {number: signal.signal(number, forward)
                for number in (signal.SIGTERM, signal.SIGHUP)}
    try:
        while True:
            try:
                code = process.wait()
                break
            except KeyboardInterrupt:
                # Ctrl-C reached mpirun too (same process group): wait for it to end the job.
                signalled.append(signal.SIGINT)
                continue
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return (code if code >= 0 else 128 - code), bool(signalled)


if __name__ == '__main__':
    sys.exit(main())
