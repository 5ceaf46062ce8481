"""The ranks' optimizers stay alike: the update's step exchange carries their configuration.

The multi-node optimizer's per-update exchange of sample counts (``StepFlags``) is a checked
collective whose tag every rank must pass alike. The tag holds the update number and a 24-bit
fingerprint of the actual optimizer's configuration (its class, hyperparameters, loss scale
and hooks, the parameters whose update is off or whose rule has hyperparameters or hooks of
its own, and the wrapper's micro_batches and backward_passes_per_step), so that a rank whose
optimizer differs is caught at no extra cost: an extension that changes the learning rate
registered on rank 0 alone (``ExponentialShift``, ``LinearShift``, a user's), a different
optimizer, loss scale or number of micro-batches on one rank. Otherwise every rank would apply
the same summed gradients with a different rule, and the parameters would drift apart
silently. Only on a mismatch do the ranks gather their configurations (every rank sees the
same mismatch), to say what differs.
"""
import numbers
import zlib

from dchain.distributed.agreement import CollectiveMismatchError

_BITS = 24


def configuration(actual, named=False, **settings):
    """What must be the same on every rank's ``actual`` optimizer (and the wrapper's
    ``settings``, e.g. micro_batches), as a dict. ``named``: the parameters whose update is
    off by path (for a message) rather than by position (for the fingerprint)."""
    values = dict(settings, **{'optimizer class': type(actual).__name__})
    hyperparam = getattr(actual, 'hyperparam', None)
    if hyperparam is not None:
        values.update(sorted(hyperparam.get_dict().items()))
    values['loss scale'] = getattr(actual, '_loss_scale', None)
    hooks = [name for hooks in (getattr(actual, '_pre_update_hooks', None),
                                getattr(actual, '_post_update_hooks', None)) if hooks
             for name in hooks]
    if hooks:
        values['hooks'] = tuple(hooks)
    frozen, own = _rules(actual, named)
    values['parameters not updated'] = frozen
    if own:
        values['update rules set apart'] = own
    return {name: _plain(value) for name, value in values.items()}


def _rules(actual, named):
    """The parameters whose update rule is disabled, and those whose rule has hyperparameters
    or hooks of its own, with them (by path when ``named``, else by position). A rank that
    froze a parameter or changed one rule alone (in a rank-local extension) would leave that
    parameter behind, and change the sharded optimizer's slices."""
    target = getattr(actual, 'target', None)
    if target is None:
        return (), ()
    frozen, own = [], []
    for key, param in (target.namedparams() if named else enumerate(target.params())):
        rule = param.update_rule
        if rule is None:
            continue
        if not rule.enabled:
            frozen.append(key)
        values = rule.hyperparam.__dict__
        if len(values) > 1 or rule._pre_update_hooks or rule._post_update_hooks:
            own.append((key, tuple(sorted((k, _plain(v)) for k, v in values.items()
                                          if k != '_parent')),
                        tuple(rule._pre_update_hooks) + tuple(rule._post_update_hooks)))
    return tuple(frozen), tuple(own)


def _plain(value):
    # numpy scalars as Python numbers, so that the same value has the same fingerprint
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def step_tag(actual, **settings):
    """The update number and the configuration's fingerprint, as one int for the header."""
    fingerprint = zlib.crc32(repr(sorted(configuration(actual, **settings).items())).encode())
    return actual.t * (1 << _BITS) + (fingerprint & ((1 << _BITS) - 1))


def explain(error, comm, actual, **settings):
    """Raise a clear error when the step exchange's mismatch is one of update numbers (a rank
    skipped an update) or of configurations (gathers every rank's); return otherwise."""
    headers = error.headers
    if len({h['operation'] for h in headers}) != 1 or len({h['tag'] for h in headers}) == 1:
        return
    steps = [h['tag'] >> _BITS for h in headers]
    if len(set(steps)) > 1:
        counts = ', '.join('rank {} has done {}'.format(r, t) for r, t in enumerate(steps))
        raise CollectiveMismatchError(
            'MultiNodeOptimizer.update: the ranks are at different updates ({}): a rank '
            'skipped an update (or made an extra one), so they would average gradients of '
            'different steps'.format(counts), error.operation, error.call, headers) from error
    mine = configuration(actual, named=True, **settings)
    everyone = comm.allgather_obj(mine)
    differences = []
    for name in sorted(set().union(*everyone), key=str):
        seen = [theirs.get(name) for theirs in everyone]
        if any(value != seen[0] for value in seen):
            differences.append('{}: {}'.format(name, ', '.join(
                'rank {} has {!r}'.format(r, value) for r, value in enumerate(seen))))
    raise CollectiveMismatchError(
        'MultiNodeOptimizer.update #{}: the ranks\' optimizers differ ({}), so the same '
        'gradients would update the parameters differently on each rank: build the same '
        'optimizer on every rank, and run extensions that set hyperparameters '
        '(ExponentialShift, LinearShift, ...) on every rank, not only on rank 0'.format(
            actual.t + 1, '; '.join(differences) or 'unknown'),
        error.operation, error.call, headers) from error
