"""No hangs: abort the whole job on an uncaught exception, and time out stuck collectives.

Collectives are started non-blocking and waited on here. A wait that outlasts the timeout asks
the other ranks, over a separate duplicated communicator, which collective each of them is
waiting in (ranks inside a wait answer within ~0.1 s; a rank that is computing, hung or gone
does not), prints one message naming the operation and the ranks that did not arrive, and
calls MPI_Abort so the launcher ends every process. Well before that, a wait that outlasts
``DCHAIN_COLLECTIVE_WARN`` seconds (default 60) asks the same question and prints a warning
naming the ranks that have not arrived, then goes on waiting. A rank inside ``Watchdog.busy``
(rank 0 writing a snapshot) answers that it is busy, and the ranks waiting for it wait on,
beyond the timeout, instead of aborting.
"""
import contextlib
import os
import sys
import threading
import time
import traceback

DEFAULT_TIMEOUT = 1800.0   # seconds; as generous as PyTorch's default process-group timeout
DEFAULT_WARN = 60.0        # seconds of waiting before a warning names the missing ranks
_QUERY_TAG = 7101
_REPLY_TAG = 7102
_SPIN_SECONDS = 0.05       # pure polling first: MPI progresses collectives only inside calls
_ANSWER_EVERY = 0.1        # how often a waiting rank answers queries about its state
_GRACE_SECONDS = 2.0       # how long a stuck rank waits for answers before aborting
_ABORT_GRACE_SECONDS = 1.0  # how long the message has to reach the launcher before MPI_Abort
_BUSY = 'busy: '            # how a busy rank's answer starts

_installed = False


def timeout_from_env(timeout=None):
    """The collective timeout: the argument, else $DCHAIN_COLLECTIVE_TIMEOUT, else 1800 s."""
    source = 'timeout'
    if timeout is None:
        value = os.environ.get('DCHAIN_COLLECTIVE_TIMEOUT')
        if value is None:
            return DEFAULT_TIMEOUT
        source = 'the environment variable DCHAIN_COLLECTIVE_TIMEOUT'
        try:
            timeout = float(value)
        except ValueError:
            raise ValueError('create_communicator: {} must be a number of seconds, got {!r}'
                             .format(source, value)) from None
    if timeout <= 0:
        raise ValueError('create_communicator: {} must be positive seconds, got {}'
                         .format(source, timeout))
    return float(timeout)


def warn_from_env():
    """Seconds a collective waits before a warning: $DCHAIN_COLLECTIVE_WARN, else 60
    (0 or less: never warn)."""
    value = os.environ.get('DCHAIN_COLLECTIVE_WARN')
    if value is None:
        return DEFAULT_WARN
    try:
        return float(value)
    except ValueError:
        raise ValueError('DCHAIN_COLLECTIVE_WARN must be a number of seconds, got {!r}'.format(
            value)) from None


class Watchdog:
    """Waits on MPI requests with a deadline; one per communicator."""

    def __init__(self, mpi_comm, timeout):
        from mpi4py import MPI
        self.MPI = MPI
        self.comm = mpi_comm
        self.watch = mpi_comm.Dup()  # queries never mix with the user's or dchain's traffic
        self.rank = mpi_comm.Get_rank()
        self.size = mpi_comm.Get_size()
        self.timeout = timeout
        self.warn_after = warn_from_env()
        self.calls = {}            # operation name -> how many times it was started
        self._surveys = 0          # numbers the questions, so late answers are recognized
        self._answer_lock = threading.Lock()
        self._told_busy = set()

    @contextlib.contextmanager
    def busy(self, what):
        """A context in which a thread answers other ranks' queries with 'busy: ``what``', so
        ranks waiting for this one in a collective wait beyond the timeout. For work outside
        MPI (writing a file) that may take longer than the timeout."""
        done = threading.Event()

        def answer():
            while not done.wait(_ANSWER_EVERY):
                self._answer(_BUSY + what, 0)
        thread = threading.Thread(target=answer, name='dchain-busy', daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def begin(self, operation):
        """Count a new call of ``operation``; returns its number (for messages)."""
        count = self.calls.get(operation, 0) + 1
        self.calls[operation] = count
        return count

    def wait(self, request, operation, call=None):
        """Wait for ``request`` (an MPI request, a list of them, or a callable that returns
        True when done, e.g. a CUDA event's ``done``), aborting on timeout."""
        if isinstance(request, list):
            test = lambda: self.MPI.Request.Testall(request)  # noqa: E731
        elif callable(request):
            test = request
        else:
            test = request.Test
        if test():
            return
        start = time.monotonic()
        spin_until = start + _SPIN_SECONDS
        deadline = start + self.timeout
        warn_at = start + self.warn_after if 0 < self.warn_after < self.timeout else deadline
        next_answer = start + _ANSWER_EVERY
        spins = 0
        while not test():
            spins += 1
            if spins & 255:
                continue
            now = time.monotonic()
            if now > spin_until:
                time.sleep(0.0001)
            if now > next_answer:
                self._answer(operation, call)
                next_answer = now + _ANSWER_EVERY
            if now > warn_at:
                warn_at = deadline
                self._warn_stuck(operation, call, test, now - start)
            if now > deadline:
                self._abort_stuck(operation, call, test)  # returns while a rank is busy,
                # or when the collective completed during the survey
                deadline = time.monotonic() + self.timeout

    def _answer(self, operation, call):
        """Tell any rank that asked which collective this rank is waiting in."""
        MPI = self.MPI
        status = MPI.Status()
        with self._answer_lock:
            while self.watch.Iprobe(MPI.ANY_SOURCE, _QUERY_TAG, status):
                source = status.Get_source()
                query = bytearray(status.Get_count(MPI.BYTE))
                self.watch.Recv([query, MPI.BYTE], source, _QUERY_TAG)
                reply = _encode(operation, call or self.calls.get(operation, 0),
                                _decode(query)[2])
                self.watch.Send([reply, MPI.BYTE], source, _REPLY_TAG)

    def _survey(self, operation, call, done=None):
        """Ask every other rank which collective it waits in; answers for up to
        ``_GRACE_SECONDS``. Returns (ranks waiting in this one, {rank: (op, call)} of ranks
        waiting in another, ranks that did not answer, {rank: what} of ranks that answered
        they are busy); None when ``done()`` turns True first.
        """
        MPI = self.MPI
        self._surveys += 1
        survey = self._surveys
        mine = _encode(operation, call, survey)
        others = [r for r in range(self.size) if r != self.rank]
        status = MPI.Status()
        while self.watch.Iprobe(MPI.ANY_SOURCE, _REPLY_TAG, status):  # late answers of before
            self.watch.Recv([bytearray(status.Get_count(MPI.BYTE)), MPI.BYTE],
                            status.Get_source(), _REPLY_TAG)
        sends = [self.watch.Isend([mine, MPI.BYTE], r, _QUERY_TAG) for r in others]
        replies = {}
        until = time.monotonic() + _GRACE_SECONDS
        while time.monotonic() < until and len(replies) < len(others):
            self._answer(operation, call)
            if done is not None and done():
                return None
            if self.watch.Iprobe(MPI.ANY_SOURCE, _REPLY_TAG, status):
                buf = bytearray(status.Get_count(MPI.BYTE))
                source = status.Get_source()
                self.watch.Recv([buf, MPI.BYTE], source, _REPLY_TAG)
                other_op, other_call, answered = _decode(buf)
                if answered == survey:  # not a late answer to an earlier question
                    replies[source] = (other_op, other_call)
            else:
                time.sleep(0.01)
        del sends
        busy = {r: state[0][len(_BUSY):] for r, state in replies.items()
                if state[0].startswith(_BUSY)}
        arrived = [self.rank] + sorted(r for r, state in replies.items()
                                       if state == (operation, call))
        elsewhere = {r: state for r, state in replies.items()
                     if state != (operation, call) and r not in busy}
        missing = [r for r in others if r not in replies]
        return arrived, elsewhere, missing, busy

    def _tell_busy(self, operation, call, busy):
        """Say once per rank that this wait goes on beyond the timeout for a busy rank."""
        fresh = sorted(set(busy) - self._told_busy)
        if fresh:
            sys.stderr.write(''.join(
                '[rank {}] dchain: {} (call #{}) waits for rank {}, which is {}; waiting '
                'for it beyond the {:g} s timeout\n'.format(
                    self.rank, operation, call, r, busy[r], self.timeout) for r in fresh))
            sys.stderr.flush()
            self._told_busy.update(fresh)

    def _warn_stuck(self, operation, call, done, waited):
        """Print which ranks have not arrived, and go on waiting."""
        call = call or self.calls.get(operation, 0)
        found = self._survey(operation, call, done)
        if found is None:  # it completed meanwhile
            return
        arrived, elsewhere, missing, busy = found
        if busy:
            self._tell_busy(operation, call, busy)
            return
        lines = ['[rank {}] dchain: warning: {} (call #{}) has waited {:.0f} s '
                 '(DCHAIN_COLLECTIVE_WARN); it aborts after {:g} s (DCHAIN_COLLECTIVE_TIMEOUT).'
                 .format(self.rank, operation, call, waited, self.timeout),
                 '  ranks waiting in it: {}'.format(_ranks(sorted(arrived)))]
        for r, (other_op, other_call) in sorted(elsewhere.items()):
            lines.append('  rank {} is waiting in {} (call #{}) instead'.format(
                r, other_op, other_call))
        lines.append('  ranks that have not arrived (busy, hung or gone): {}'.format(
            _ranks(missing)))
        sys.stderr.write('\n'.join(lines) + '\n')
        sys.stderr.flush()

    def _abort_stuck(self, operation, call, done=None):
        call = call or self.calls.get(operation, 0)
        # The collective may complete while the survey runs (a rank that answers it is in a
        # later call has left this one, which then completes here as MPI progresses): then
        # nothing is stuck.
        found = self._survey(operation, call, done)
        if found is None or (done is not None and done()):
            return
        arrived, elsewhere, missing, busy = found
        if busy:  # a rank writing a snapshot: wait on
            self._tell_busy(operation, call, busy)
            return
        lines = ['[rank {}] dchain: {} (call #{}) did not complete within {:g} s '
                 '(DCHAIN_COLLECTIVE_TIMEOUT).'.format(self.rank, operation, call, self.timeout),
                 '  ranks waiting in it: {}'.format(_ranks(sorted(arrived)))]
        for r, (other_op, other_call) in sorted(elsewhere.items()):
            lines.append('  rank {} is waiting in {} (call #{}) instead'.format(
                r, other_op, other_call))
        if missing:
            lines.append('  ranks that did not arrive (busy, hung or gone): {}'.format(
                _ranks(missing)))
        lines.append('  aborting the job.')
        abort('\n'.join(lines))


def _encode(operation, call, survey):
    return bytearray('{}\n{}\n{}'.format(operation, call, survey).encode())


def _decode(buf):
    operation, call, survey = bytes(buf).decode().rsplit('\n', 2)
    return operation, int(call), int(survey)


def _ranks(ranks):
    return ', '.join(str(r) for r in ranks) if ranks else 'none'


def abort(message, code=1):
    """Print ``message`` to stderr and end every process of the job (MPI_Abort)."""
    try:
        sys.stderr.write(message.rstrip('\n') + '\n')
        sys.stderr.flush()
        sys.stdout.flush()
        # The launcher forwards output through pipes; MPI_Abort makes it kill every process,
        # and what it had not yet read is lost (seen with MPICH's hydra: an abort with an
        # empty log). A moment first lets the message reach the user.
        time.sleep(_ABORT_GRACE_SECONDS)
    finally:
        from mpi4py import MPI
        MPI.COMM_WORLD.Abort(code)


def install_abort_on_error(rank):
    """Make an uncaught exception (in any thread) print ``[rank R]`` and abort the job.

    Opt out with ``DCHAIN_ABORT_ON_ERROR=0``. Installed once per process.
    """
    global _installed
    if _installed or os.environ.get('DCHAIN_ABORT_ON_ERROR', '1') == '0':
        return
    _installed = True

    def excepthook(kind, value, tb):
        text = ''.join(traceback.format_exception(kind, value, tb))
        prefixed = ''.join('[rank {}] {}\n'.format(rank, line) for line in text.splitlines())
        abort(prefixed + '[rank {}] dchain: uncaught {} on rank {}; aborting the job '
              '(set DCHAIN_ABORT_ON_ERROR=0 to let other ranks continue).'.format(
                  rank, kind.__name__, rank))

    def thread_hook(args):
        excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
