"""Agreement checks: before any data moves, every rank confirms that the others call the same
collective, with the same dtype, element count, root, reduction and tag.

Each collective first makes one tiny allreduce of a header

    [operation, call number, dtype, count, root, reduction, tag, next dtype, next count]

packed as (value, value**2, 1) per 20-bit piece of each field and summed: a field agrees on
every rank exactly when sum**2 == count * sum of squares. A field that a rank cannot know
(the size of another rank's pickled object, a broadcast's shape on a receiving rank) is a
wildcard there and adds nothing. Because the header is a sum, a few int64 values of data can
ride on it (the multi-node optimizer's per-update exchange of sample counts and step flags
does), and it can announce a later sum-allreduce that then needs no header of its own (the
gradient allreduce), so a data-parallel step makes no more round trips than without the
check. When a field disagrees, every rank learns it from the same reduced header, gathers
every rank's header (one more small collective), and raises ``CollectiveMismatchError``
naming what differs, e.g.
``allreduce #57: rank 0 sends float32[8], rank 1 sends float64[8]``. Under mpirun the
uncaught error then aborts the job; nothing waits for a timeout and no garbage arrives.
"""
import atexit

import numpy

from dchain.distributed import watchdog

WILDCARD = numpy.iinfo(numpy.int64).max
FIELDS = ('operation', 'call', 'dtype', 'count', 'root', 'reduction', 'tag', 'next_dtype',
          'next_count')
OPERATIONS = ('allreduce', 'allreduce_deterministic', 'bcast', 'bcast_obj', 'gather_obj',
              'allgather_obj', 'allreduce_obj', 'barrier', 'split', 'scatter_dataset',
              'check_same', 'exit', 'alltoall', 'scatter')
REDUCTIONS = ('sum', 'mean', 'max', 'min')
_OBJECT = 1000   # the dtype code of a pickled Python object
# Tags of dchain's own object collectives: two different ones met on two ranks (a rank
# building an iterator while another starts Trainer.run) disagree on the tag, instead of
# one's pickled objects being read as the other's.
CHECK_SAME, AUTOLOAD = 1, 2
PURPOSES = {CHECK_SAME: "a check that every rank passed the same arguments (check_same)",
            AUTOLOAD: "Trainer.run's agreement on snapshots to autoload"}


class CollectiveMismatchError(RuntimeError):
    """The ranks called different collectives, or one collective with different arguments.

    Raised on every rank. Attributes: ``operation`` and ``call`` (this rank's), ``headers``
    (one dict per rank: operation, call, dtype, count, root, reduction, tag, next_dtype,
    next_count; None where the rank left a field open).
    """

    def __init__(self, message, operation, call, headers):
        super().__init__(message)
        self.operation = operation
        self.call = call
        self.headers = headers


def dtype_code(dtype):
    """The header code of a numpy dtype ('object' for pickled objects, None: unknown)."""
    if dtype is None:
        return WILDCARD
    if dtype == 'object':
        return _OBJECT
    return numpy.dtype(dtype).num


def header(operation, call, dtype=None, count=None, root=None, reduction=None, tag=0,
           announce=None):
    """The int64 header of one call (None fields are wildcards). ``announce``: the (dtype,
    count) of a sum-allreduce this rank will make later without a header of its own (-1: no
    announcement; every rank must announce alike)."""
    next_dtype, next_count = (-1, -1) if announce is None else (
        dtype_code(announce[0]), int(announce[1]))
    values = [OPERATIONS.index(operation), call, dtype_code(dtype),
              WILDCARD if count is None else int(count),
              WILDCARD if root is None else int(root),
              WILDCARD if reduction is None else REDUCTIONS.index(reduction), int(tag),
              next_dtype, next_count]
    return numpy.array(values, numpy.int64)


PAYLOAD = 16          # int64 values a header can carry, summed over the ranks
_LIMB_BITS = 20
_LIMBS = 3            # every field value (shifted by 1, so -1 is allowed) is below 2**60


def pack(values, payload=None):
    """The vector every rank sums: for each 20-bit limb of each field its value, its square
    and a 1 (a wildcard contributes zeros), then the ``payload`` (at most PAYLOAD int64).

    Summed over the ranks, a limb agrees everywhere exactly when sum**2 == count * sum of
    squares (equality in Cauchy-Schwarz), and the payload arrives summed in the same round
    trip: small exchanges of data ride on their own check."""
    limbs = []
    for value in values:
        if value == WILDCARD:
            limbs += [None] * _LIMBS
            continue
        value = int(value) + 1
        limbs += [(value >> (_LIMB_BITS * i)) & ((1 << _LIMB_BITS) - 1)
                  for i in reversed(range(_LIMBS))]
    n = len(limbs)
    packed = numpy.zeros(3 * n + PAYLOAD, numpy.int64)
    for i, limb in enumerate(limbs):
        if limb is not None:
            packed[i], packed[n + i], packed[2 * n + i] = limb, limb * limb, 1
    if payload is not None:
        packed[3 * n:3 * n + len(payload)] = payload
    return packed


def agreed(reduced):
    """True when the summed packed headers show one value per field (or no value)."""
    n = len(FIELDS) * _LIMBS
    sums, squares, counts = (reduced[i * n:(i + 1) * n].tolist() for i in range(3))
    return all(total * total == count * square
               for total, square, count in zip(sums, squares, counts))


def payload_of(reduced, length):
    """The summed payload of a reduced packed header."""
    n = len(FIELDS) * _LIMBS
    return reduced[3 * n:3 * n + length]


def _describe(values):
    names = dict(zip(FIELDS, (None if v == WILDCARD else int(v) for v in values)))
    names['operation'] = OPERATIONS[names['operation']]
    if names['reduction'] is not None:
        names['reduction'] = REDUCTIONS[names['reduction']]
    code = names['dtype']
    if code is not None:
        names['dtype'] = 'object' if code == _OBJECT else _dtype_name(code)
    if names['next_dtype'] is not None and names['next_dtype'] >= 0:
        names['next_dtype'] = _dtype_name(names['next_dtype'])
    return names


def _dtype_name(code):
    for char in numpy.typecodes['All']:
        dtype = numpy.dtype(char)
        if dtype.num == code:
            return dtype.name
    return 'dtype#{}'.format(code)


def _ranks(ranks):
    return ('rank ' if len(ranks) == 1 else 'ranks ') + ', '.join(str(r) for r in ranks)


_PLURAL = {'calls': 'call', 'sends': 'send', 'is': 'are', 'names': 'name', 'reduces': 'reduce',
           'passes': 'pass'}


def _verb(text, count):
    if count == 1:
        return text
    first, _, rest = text.partition(' ')
    return _PLURAL.get(first, first) + ' ' + rest


def _payload(h):
    if h['dtype'] is None and h['count'] is None:
        return ''
    dtype = h['dtype'] or '?'
    if dtype == 'object':
        return ' (an object)'
    return ' {}[{}]'.format(dtype, '?' if h['count'] is None else h['count'])


def _purpose(h):
    if h['dtype'] != 'object':
        return ''
    return ' ({})'.format(PURPOSES.get(h['tag'], "the program's own" if h['tag'] == 0
                                       else 'unknown'))


def mismatch(operation, call, rows):
    """The CollectiveMismatchError for the gathered headers ``rows`` (one per rank)."""
    headers = [_describe(row) for row in rows]

    def differs(field):
        values = {h[field] for h in headers} - {None}
        return len(values) > 1

    def grouped(render):
        groups = {}
        for rank, h in enumerate(headers):
            groups.setdefault(render(h), []).append(rank)
        return ', '.join('{} {}'.format(_ranks(ranks), _verb(text, len(ranks)))
                         for text, ranks in groups.items())

    if differs('operation'):
        text = 'collective #{}: {}'.format(call, grouped(
            lambda h: 'calls {}{}'.format(h['operation'], _payload(h))))
        if any(h['operation'] == 'exit' for h in headers):
            text += (' (exit: the rank\'s program ended while others still call collectives; '
                     'the ranks ran different numbers of them, e.g. a rank skipped an update)')
    elif differs('call'):
        text = '{}: {} (a rank called a collective the others did not)'.format(
            operation, grouped(lambda h: 'is at call #{}'.format(h['call'])))
    else:
        parts = []
        if differs('dtype') or differs('count'):
            parts.append(grouped(lambda h: 'sends{}'.format(_payload(h))))
        if differs('root'):
            parts.append(grouped(lambda h: 'names root {}'.format(h['root'])))
        if differs('reduction'):
            parts.append(grouped(lambda h: "reduces with '{}'".format(h['reduction'])))
        if differs('tag'):
            parts.append(grouped(lambda h: 'passes tag {}{}'.format(h['tag'], _purpose(h))))
        if differs('next_dtype') or differs('next_count'):
            parts.append(grouped(lambda h: 'announces {}'.format(
                'no later allreduce' if h['next_count'] == -1 else 'a later allreduce of {}[{}]'
                .format(h['next_dtype'], h['next_count']))))
        text = '{} #{}: {}'.format(operation, call, '; '.join(parts))
    return CollectiveMismatchError(
        'dchain: the ranks disagree on a collective: ' + text, operation, call, headers)


def different_values(operation, values, everyone):
    """The ValueError naming the first of ``values`` (names to values) on which the ranks'
    dicts ``everyone`` differ, with each rank's value; None when they all agree."""
    for name in values:
        seen = [theirs.get(name) for theirs in everyone]
        if all(value == seen[0] for value in seen):
            continue
        groups = {}
        for rank, value in enumerate(seen):
            groups.setdefault(repr(value), []).append(rank)
        return ValueError('{}: every rank must have the same {}, but {}'.format(
            operation, name, ', '.join('{} {} {}'.format(
                _ranks(ranks), 'has' if len(ranks) == 1 else 'have', text)
                for text, ranks in groups.items())))
    return None


_LIVE = []  # every MpiCommunicator of more than one rank, in creation order


def watch_exit(comm):
    """At the program's end, every communicator makes one last checked collective ('exit'):
    a rank that ends while another still waits in a collective (the ranks ran different
    numbers of collectives, e.g. a rank skipped an update) meets it there, and both learn
    what happened instead of waiting for the timeout."""
    if not _LIVE:
        atexit.register(_check_exit)
    _LIVE.append(comm)


def _check_exit():
    from mpi4py import MPI
    if MPI.Is_finalized():
        return
    for comm in _LIVE:
        try:
            comm.check_collective('exit')
        except CollectiveMismatchError as error:
            watchdog.abort('[rank {}] {}'.format(MPI.COMM_WORLD.Get_rank(), error))
        comm.free_exposed()  # every rank is here: windows can be freed collectively
