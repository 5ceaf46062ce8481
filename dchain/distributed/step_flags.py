"""StepFlags: small integer facts that every rank agrees on, once per update, before backward.

The multi-node optimizer sums one int64 vector over the ranks at the start of every update,
before the backward pass: each rank's sample count (so the loss gradient can be scaled by the
rank's share of the global batch) and a few named flags. Any step-level decision that must
be the same on every rank rides on it instead of a collective of its own:

    flags = optimizer.step_flags            # a MultiNodeOptimizer's, on every rank
    flags.register('my_flag')               # every rank, in the same order, before training
    flags.set('stop')                       # rank-local: e.g. in a SIGTERM handler
    optimizer.update(...)                   # the exchange happens inside, on every rank
    if flags.any('stop'):                   # the same answer on every rank
        ...

Values set with ``set`` are this rank's contribution to the next exchange (then cleared);
``total``, ``any`` and ``all`` read the sums of the last exchange. The vector has a fixed
number of slots, so registering a name changes no collective; names map to slots in
registration order, which must therefore be the same on every rank. Predeclared names:

- ``'samples'``: this rank's number of samples in the step (set by the optimizer);
- ``'uninitialized'``: this rank has parameters not yet sized (set by the optimizer);
- ``'stop'``: a rank was asked to stop (preemption: checkpoint, then end, on every rank);
- ``'nonfinite'``: a rank saw an inf or NaN (dynamic loss scaling: skip the step everywhere).

An exchange can also be made outside an update (``exchange(comm, tag)``), e.g. after backward.
The values ride on the collective's agreement header (``check_collective(payload=...)``), so an
exchange is one tiny round trip, checked like every collective.
"""
import numpy

SLOTS = 16  # agreement.PAYLOAD: the int64 values a header carries
_PREDECLARED = ('samples', 'uninitialized', 'stop', 'nonfinite')


class StepFlags:
    """Named int64 slots summed over the ranks by ``exchange``.

    Attributes:
        names (tuple of str): the registered names, in slot order.
        size (int): the number of ranks at the last exchange (1 before any).
    """

    def __init__(self):
        self._names = list(_PREDECLARED)
        self._local = numpy.zeros(SLOTS, numpy.int64)
        self._totals = numpy.zeros(SLOTS, numpy.int64)
        self.size = 1

    @property
    def names(self):
        return tuple(self._names)

    def register(self, name):
        """Give ``name`` a slot (no-op when it has one); returns the slot index. Every rank
        must register the same names in the same order, before the exchanges that use them."""
        if not isinstance(name, str):
            raise TypeError('StepFlags.register: name must be a str, got {}'.format(
                type(name).__name__))
        if name in self._names:
            return self._names.index(name)
        if len(self._names) == SLOTS:
            raise ValueError('StepFlags.register: all {} slots are taken ({})'.format(
                SLOTS, ', '.join(self._names)))
        self._names.append(name)
        return len(self._names) - 1

    def _slot(self, method, name):
        try:
            return self._names.index(name)
        except ValueError:
            raise KeyError('StepFlags.{}: no flag named {!r}; register it first (known: {})'
                           .format(method, name, ', '.join(self._names))) from None

    def set(self, name, value=1):
        """Set this rank's contribution to ``name`` for the next exchange (an int; 1 raises
        a flag). Safe to call from a signal handler."""
        self._local[self._slot('set', name)] = int(value)

    def local(self, name):
        """This rank's pending contribution to ``name``."""
        return int(self._local[self._slot('local', name)])

    def total(self, name):
        """The sum of ``name`` over the ranks at the last exchange."""
        return int(self._totals[self._slot('total', name)])

    def any(self, name):
        """True when some rank had ``name`` set at the last exchange."""
        return self.total(name) != 0

    def all(self, name):
        """True when every rank had ``name`` set to 1 at the last exchange."""
        return self.total(name) == self.size

    def exchange(self, comm, tag=0, announce=None):
        """Sum every rank's values over ``comm`` (one small allreduce, a collective: every rank
        calls it), store the totals, and clear the local values. ``tag`` (e.g. the update
        number) must be the same on every rank: a rank that skipped an update is caught here.
        ``announce``: see ``check_collective``. Returns self."""
        buffer = self._local.copy()
        self._local -= buffer  # a value set meanwhile (by a signal handler) is kept
        # The values ride on the agreement check itself: one round trip in all.
        comm.check_collective('allreduce', buffer.dtype, buffer.size, reduction='sum', tag=tag,
                              announce=announce, payload=buffer)
        self._totals = buffer
        self.size = comm.size
        return self
