"""The multi-node optimizer: the actual optimizer's update, with the gradients of the global batch.

``MultiNodeOptimizer.update`` runs the same steps as ``GradientMethod.update``
(``compute_grads``, ``unscale_grads``, ``apply_grads``) with its collectives between them:

1. one small exchange of each rank's sample count and step flags (``StepFlags``), so every
   rank knows the global batch size before backward;
2. on the first update, a check that every rank built the same model, then rank 0's
   parameters and persistent values copied to every rank;
3. the forward and backward of the actual optimizer, with the loss gradient scaled by the
   rank's share of the global batch (times the loss scale, if any);
4. one allreduce (a sum) of the gradients in the actual optimizer's flat gradient buffer
   (``FlatParameters.grad``), which the fused update then reads in place (with ``overlap``,
   bucket by bucket during backward: ``dchain.distributed.overlap``);
5. the actual optimizer's hooks and update.

Ranks with uneven (or empty) shares of a batch therefore still compute the gradient of the
global batch, and on one rank the result is bitwise the plain optimizer's.
"""
import contextlib
import warnings

import numpy

from dchain import _timeline, backend
from dchain._accumulation import Accumulation, count_samples
from dchain.distributed.compression import ExchangeBuffers
from dchain.distributed.overlap import BucketPlan, OverlappedExchange
from dchain.distributed.zero import ShardedState
from dchain.serializers.base import Deserializer
from dchain.config import using_config
from dchain.distributed import optimizer_agreement
from dchain.distributed.agreement import CollectiveMismatchError
from dchain.distributed.step_flags import StepFlags
from dchain import reporter


@contextlib.contextmanager
def _discarded_reports():
    """Values reported inside the block go nowhere (when a reporter is active at all)."""
    try:
        reporter.get_current_reporter()
    except RuntimeError:
        yield
        return
    with reporter.report_scope({}):
        yield


def _forward_is_collective(link):
    """True when some link of ``link`` calls collectives in forward (every rank must run
    the forward then, even on an empty share of the batch)."""
    return any(getattr(sub, 'forward_is_collective', False) for sub in link.links())


def _peer_communicators(link, comm):
    """The communicators other than ``comm`` over which some link of ``link`` exchanges in
    forward (each once, in the order of the links)."""
    found = []
    for sub in link.links():
        peer = getattr(sub, 'comm', None) if getattr(sub, 'forward_is_collective', False) \
            else None
        if peer is not None and peer is not comm and peer.size > 1 and \
                all(peer is not other for other in found):
            found.append(peer)
    return found


class _GradientBuffer:
    """Flat gradient buffers, one per dtype and device, for parameters the actual optimizer
    cannot fuse (mixed dtypes, rule-level hooks, ...)."""

    def __init__(self, params):
        self.params = params
        self.signature = [(id(p), p.data.shape, p.data.dtype) for p in params]
        self.groups = []
        by_kind = {}
        for param in params:
            by_kind.setdefault((param.data.dtype, backend.is_gpu_array(param.data)),
                               []).append(param)
        for members in by_kind.values():
            offsets = [0]
            for param in members:
                offsets.append(offsets[-1] + param.data.size)
            flat = members[0].xp.empty(offsets[-1], members[0].data.dtype)
            views = [flat[offsets[i]:offsets[i + 1]].reshape(p.data.shape)
                     for i, p in enumerate(members)]
            for param, view in zip(members, views):
                param._grad_into = view   # backward writes the gradients in (see Variable)
            self.groups.append((flat, members, views))

    def matches(self, params):
        return len(params) == len(self.signature) and all(
            id(p) == s[0] and p.data.shape == s[1] and p.data.dtype == s[2]
            for p, s in zip(params, self.signature))

    def gather_grads(self):
        """Copy the gradients in (zeros where none) and bind ``param.grad`` to the views."""
        for _, members, views in self.groups:
            for param, view in zip(members, views):
                grad = param.grad
                if grad is None:
                    view.fill(0)
                elif grad is not view:
                    view[...] = grad
                param.grad = view

    def flats(self):
        return [flat for flat, _, _ in self.groups]


class MultiNodeOptimizer(Accumulation):
    """Wraps an optimizer so that each update uses the gradient of the global batch.

    Made by ``create_multi_node_optimizer``. Every attribute it does not define itself is the
    actual optimizer's, read and written through (``lr``, ``alpha``, ``gamma``, ``t``,
    ``target``, ``add_hook``, an attribute an extension sets, ...).

    Attributes:
        actual_optimizer: the wrapped optimizer.
        communicator: the communicator the gradients are reduced over.
        step_flags (StepFlags): the per-update exchange of sample counts and flags.
    """

    _OWN = ('actual_optimizer', 'communicator', 'zero_fill', 'deterministic', 'step_flags',
            '_synchronized', '_buffer', '_exchange', 'shard_optimizer_state', '_shards',
            'overlap', 'bucket_mb', '_plan', '_overlapped', '_bound')
    backward_passes_per_step = 1   # Horovod's: update calls per step, gradients summed
    _passes = 0

    def __init__(self, actual_optimizer, communicator, zero_fill=True, deterministic=False,
                 backward_passes_per_step=1, shard_optimizer_state=False, overlap=False,
                 bucket_mb=25):
        if isinstance(backward_passes_per_step, bool) or not isinstance(
                backward_passes_per_step, int) or backward_passes_per_step < 1:
            raise ValueError('create_multi_node_optimizer: backward_passes_per_step must be a '
                             'positive int, got {!r}'.format(backward_passes_per_step))
        self.backward_passes_per_step = backward_passes_per_step
        if not hasattr(actual_optimizer, 'compute_grads'):
            raise TypeError('create_multi_node_optimizer: actual_optimizer must be a dchain '
                            'GradientMethod (SGD, Adam, ...), got {}'.format(
                                type(actual_optimizer).__name__))
        self.actual_optimizer = actual_optimizer
        self.communicator = communicator
        self.zero_fill = zero_fill
        self.deterministic = deterministic
        self.step_flags = StepFlags()
        self._synchronized = False
        self._buffer = None
        self._exchange = None
        self.shard_optimizer_state = bool(shard_optimizer_state)
        self._shards = None
        self.overlap = bool(overlap)
        self.bucket_mb = bucket_mb
        self._plan = None
        self._overlapped = None
        self._bound = None
        if isinstance(bucket_mb, bool) or not isinstance(bucket_mb, (int, float)) or \
                not bucket_mb > 0:
            raise ValueError('create_multi_node_optimizer: bucket_mb must be a positive number '
                             '(megabytes), got {!r}'.format(bucket_mb))
        if self.overlap:
            refused = [name for name, on in (
                ('shard_optimizer_state', self.shard_optimizer_state),
                ('deterministic', deterministic), ('zero_fill=False', not zero_fill)) if on]
            if refused:
                raise ValueError('create_multi_node_optimizer: overlap=True cannot be combined '
                                 'with {} (their exchanges run after backward)'.format(
                                     ', '.join(refused)))
            if communicator.size > 1 and getattr(communicator, 'bucketed_allreduce',
                                                 None) is None:
                raise ValueError('create_multi_node_optimizer: overlap=True needs a communicator '
                                 'with bucketed_allreduce (MPI), got {}'.format(
                                     type(communicator).__name__))

    def __getattr__(self, name):
        # Called only for names not found on the wrapper: they are the actual optimizer's.
        actual = self.__dict__.get('actual_optimizer')
        if actual is None or name.startswith('__'):
            raise AttributeError(name)
        return getattr(actual, name)

    def __setattr__(self, name, value):
        if name in self._OWN or hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:
            setattr(self.actual_optimizer, name, value)

    def __dir__(self):
        return sorted(set(object.__dir__(self)) | set(dir(self.actual_optimizer)))

    def __repr__(self):
        return 'MultiNodeOptimizer({!r}, {!r})'.format(self.actual_optimizer, self.communicator)

    def setup(self, link):
        """Set up the actual optimizer on ``link``; returns self. (Every rank calls it: the
        next update checks and broadcasts the model.)"""
        self.actual_optimizer.setup(link)
        self._synchronized = False
        self._buffer = None
        self._shards = None
        return self

    def serialize(self, serializer):
        """Save or load the actual optimizer's state (the file layout is the same).

        Saving and loading are rank-local (rank 0 alone usually writes snapshots), so neither
        changes which collectives the next update calls: the parameters are not checked or
        broadcast again. Load the same file on every rank to resume. With sharded state the
        whole state is written (read from the other ranks' windows) and each rank keeps its
        part of a loaded one.
        """
        self.actual_optimizer.serialize(serializer)
        if self.backward_passes_per_step > 1:
            self._serialize_passes(serializer)
        shards = self._shards
        if shards is None:
            return
        if isinstance(serializer, Deserializer):
            shards.adopt([p.update_rule.state for p in shards.flat.params])
            shards.rule.t = shards.flat.params[0].update_rule.t
        else:
            shards.save(serializer)

    def _serialize_passes(self, serializer):
        # Where the next update falls in the backward_passes_per_step cycle, so that a resumed
        # run takes its steps at the same updates as the uninterrupted one. The gradients
        # pending between two steps are each rank's own and are not saved.
        key = 'backward_passes_done'
        if isinstance(serializer, Deserializer):
            try:
                self._passes = int(serializer(key, 0))
            except KeyError:  # a snapshot of a run without backward_passes_per_step
                self._passes = 0
            return
        if self._passes:
            warnings.warn(
                'MultiNodeOptimizer: saved after {} of the {} backward passes of a step '
                '(backward_passes_per_step): the gradients pending on each rank are not '
                'saved, so a run resumed from this file skips them; save every {} updates '
                'to resume exactly'.format(self._passes, self.backward_passes_per_step,
                                           self.backward_passes_per_step), stacklevel=2)
        serializer(key, self._passes)

    # -- the update --------------------------------------------------------------------------
    def update(self, lossfun=None, *args, **kwds):
        """One step on the global batch (a collective: every rank calls it).

        With ``lossfun``: this rank's loss (its mean over its own samples) is back-propagated
        with the initial gradient set to (loss scale x) this rank's share of the global batch,
        the gradients are summed over ranks and the actual optimizer updates. A rank with no
        sample in the step passes zero-length arrays and adds nothing (its forward runs
        anyway when the model computes over ranks in forward, as MultiNodeBatchNormalization
        does). Without ``lossfun``: the gradients already there are averaged with equal
        weights, then the update.
        """
        actual = self.actual_optimizer
        target = actual.target
        if target is None:
            raise RuntimeError('MultiNodeOptimizer.update: call setup(link) first')
        if self._split_update(lossfun, args, kwds):
            return
        passes = self.backward_passes_per_step
        if passes > 1 and not self._no_sync_depth:
            self._passes = (self._passes + 1) % passes
            if self._passes:
                with self.no_sync():
                    self.update(lossfun, *args, **kwds)
                return
        if self._no_sync_depth or self._accumulated is not None:
            self._accumulating_update(lossfun, args, kwds)
            return
        comm = self.communicator
        count = count_samples(args, kwds) if lossfun is not None else 1
        collective_forward = lossfun is not None and _forward_is_collective(target)
        flags = self.step_flags
        flags.set('samples', count)
        if not self._synchronized:
            flags.set('uninitialized', any(p.data is None for p in target.params()))
        announce = self._gradient_allreduce(target, collective_forward)
        self._exchange_flags(announce)
        total = flags.total('samples')
        if not self._synchronized:
            self._size_lazy_links(lossfun, args, kwds, count)
            self._synchronize(target)
        self._overlapped = self._begin_overlap(target, announce) \
            if lossfun is not None else None
        if lossfun is not None:
            if count or collective_forward:
                if self._overlapped is not None:
                    with self._overlapped.watch():
                        actual.compute_grads(lossfun, args, kwds,
                                             grad_scale=count / total if total else 0.0)
                else:
                    actual.compute_grads(lossfun, args, kwds,
                                         grad_scale=count / total if total else 0.0)
            else:
                target.cleargrads()
        self._finish_step(target, 1.0 / comm.size if lossfun is None else None,
                          total if lossfun is not None else comm.size, announce is not None)

    def _finish_step(self, target, scale, total, announced=False):
        """Sum the gradients over the ranks (times ``scale``), then update. ``total``: the
        step's samples over every rank (0: no gradient anywhere); ``announced``: the step
        exchange announced the gradient allreduce (see ``_gradient_allreduce``)."""
        comm = self.communicator
        actual = self.actual_optimizer
        if self.shard_optimizer_state:
            if total == 0:  # no sample on any rank (agreed): nothing to update
                actual.t += 1
                return
            if self._shards is None:
                self._shards = ShardedState(self)  # collective: every rank's first step
            self._shards.step(scale)  # marks its exchanges and its update for the timeline
            return
        mark = _timeline.mark() if comm.size > 1 else None
        self._sum_grads(target, scale, total, announced)
        _timeline.span('exchange', mark)
        actual.unscale_grads()
        actual.apply_grads()

    def _accumulating_update(self, lossfun, args, kwds):
        """A micro-batch of a step (see ``dchain._accumulation``): its gradients, weighted by
        its samples, add up locally; the last one exchanges the step's sample counts, sums
        the gradients over ranks once, divides by the global total and updates."""
        actual = self.actual_optimizer
        target = actual.target
        flags = self.step_flags
        if not self._synchronized:
            # parameters are checked and copied from rank 0 before the first backward
            count = count_samples(args, kwds)
            flags.set('samples', count)
            flags.set('uninitialized', any(p.data is None for p in target.params()))
            self._exchange_flags()
            # A micro-batch empty on every rank (the first of a short batch) cannot size lazy
            # links anywhere: wait for one with samples (agreed facts, so every rank waits).
            if flags.total('samples') or not flags.any('uninitialized'):
                self._size_lazy_links(lossfun, args, kwds, count)
                self._synchronize(target)
        collective = lossfun is not None and _forward_is_collective(target)
        if not self._no_sync_depth and self.overlap and lossfun is not None:
            # the last micro-batch, overlapped: the step exchange (samples and announced
            # allreduce) comes before its backward, during which the buckets start
            local = (self._accumulated or 0) + count_samples(args, kwds)
            flags.set('samples', local)
            announce = self._gradient_allreduce(target, collective)
            self._exchange_flags(announce)
            total = flags.total('samples')
            self._overlapped = self._begin_overlap(target, announce)
            if self._overlapped is None:
                self._accumulate(actual._compute_part, lossfun, args, kwds,
                                 forward_anyway=collective)
            else:
                with self._overlapped.watch():
                    self._accumulate(actual._compute_part, lossfun, args, kwds,
                                     forward_anyway=collective)
            self._end_accumulation()
            self._finish_step(target, 1.0 / total if total else None, total,
                              announce is not None)
            return
        local = self._accumulate(actual._compute_part, lossfun, args, kwds,
                                 forward_anyway=collective)
        if self._no_sync_depth:
            return
        self._end_accumulation()
        flags.set('samples', local)
        self._exchange_flags()
        total = flags.total('samples')
        self._finish_step(target, 1.0 / total if total else None, total)

    def _gradient_allreduce(self, target, collective_forward):
        """The (dtype, size) of the gradient allreduce to announce in the step exchange, so
        that it needs no header round trip of its own; None when it is checked on its own.

        Decided from facts every rank shares (the checked model, the settings): announced
        once the model is synchronized, when its gradients form one buffer (one dtype, one
        device) and nothing in the forward calls collectives (MultiNodeBatchNormalization's
        are checked one by one, so the gradient allreduce after them is too)."""
        comm = self.communicator
        if (comm.size == 1 or not self._synchronized or self.deterministic
                or self.shard_optimizer_state
                or collective_forward or _forward_is_collective(target)):
            return None
        params = [p.data for p in target.params(include_uninit=False)]
        if not params or len({(a.dtype, backend.is_gpu_array(a)) for a in params}) != 1:
            return None
        exchange_dtype = getattr(comm, 'allreduce_grad_dtype', None)
        if exchange_dtype is not None and exchange_dtype != params[0].dtype:
            return None  # the compressed exchange makes its own (checked) collectives
        return params[0].dtype, sum(a.size for a in params)

    def _begin_overlap(self, target, announce):
        """The step's ``OverlappedExchange`` when the gradient allreduce is overlapped with
        backward: with ``overlap`` on, over several ranks, for an announced allreduce (one
        buffer, checked in the step exchange); None otherwise."""
        if not self.overlap or announce is None:
            return None
        params = list(target.params(include_uninit=False))   # the exchange order (below)
        actual = self.actual_optimizer
        flat = actual.fused_parameters() if getattr(actual, 'use_fused', False) else None
        if flat is not None and len(flat.params) == len(params):
            self._buffer = None
            buffer, members, views = flat.grad, flat.params, flat._grad_views
        else:
            if self._buffer is None or not self._buffer.matches(params):
                self._buffer = _GradientBuffer(params)
            (buffer, members, views), = self._buffer.groups
        if self._plan is None or not self._plan.matches(buffer, members):
            elements = max(1, int(self.bucket_mb * 2 ** 20) // buffer.dtype.itemsize)
            self._plan = BucketPlan(buffer, members, views, elements)
        return OverlappedExchange(self._plan, self.communicator.bucketed_allreduce(*announce))

    def _exchange_flags(self, announce=None):
        # the tag carries the update number and the optimizer's configuration: a rank that
        # skipped an update, or whose optimizer differs, is caught here
        actual = self.actual_optimizer
        settings = {'micro_batches': self.micro_batches,
                    'backward_passes_per_step': self.backward_passes_per_step,
                    'overlap': self.overlap, 'bucket_mb': self.bucket_mb}
        try:
            self.step_flags.exchange(
                self.communicator, tag=optimizer_agreement.step_tag(actual, **settings),
                announce=announce)
        except CollectiveMismatchError as error:
            optimizer_agreement.explain(error, self.communicator, actual, **settings)
            raise

    def _size_lazy_links(self, lossfun, args, kwds, count):
        """Run the forward once so lazily initialized links take their shapes, before the
        parameters are checked and broadcast, without side effects: in test mode (batch
        normalization leaves its statistics, dropout draws nothing), with what it reports
        discarded and no graph kept.

        Run when a rank of this group has such links (and the group has several ranks). A
        forward that exchanges with ranks outside the group (a MultiNodeChainList, whose
        peers train in other data-parallel groups, as in ChainerMN's dual-parallel recipe)
        must run on those peers too, or its messages would meet their real forward: the
        decision is agreed over each such link's communicator, on the first update only.
        """
        comm = self.communicator
        needed = self.step_flags.any('uninitialized') and comm.size > 1
        peers = _peer_communicators(self.actual_optimizer.target, comm)
        for peer in peers:
            needed = bool(peer.allreduce(numpy.array([needed], numpy.int64))[0])
        if lossfun is None or not needed or not (count or peers):
            return
        with using_config('train', False), using_config('enable_backprop', False), \
                _discarded_reports():
            lossfun(*args, **kwds)

    def _synchronize(self, target):
        comm = self.communicator
        if comm.size > 1:
            reference = check_same_model(comm, target)
            # A rank that had no sample in the first step could not size its lazily
            # initialized parameters: it takes rank 0's shapes.
            shapes = {path: shape for path, shape, _ in reference}
            for path, param in target.namedparams():
                if param.data is None and shapes[path] is not None:
                    param.initialize(shapes[path])
            comm.bcast_data(target)
        self._synchronized = True

    def _grad_buffers(self, params):
        """The flat arrays holding every parameter's gradient, ``param.grad`` bound to views
        of them: the actual optimizer's own ``FlatParameters.grad`` when it fuses, else a
        buffer per dtype."""
        actual = self.actual_optimizer
        flat = actual.fused_parameters() if getattr(actual, 'use_fused', False) else None
        if flat is not None and len(flat.params) == len(params):
            # (the fused parameters are those of params with an enabled rule, in that order:
            # as many means the same list)
            self._buffer = None
            if flat is not self._bound:
                flat.bind_backward()   # from the next backward on, nothing to gather
                self._bound = flat
            flat.gather_grads()
            return [flat.grad]
        if self._buffer is None or not self._buffer.matches(params):
            self._buffer = _GradientBuffer(params)
        self._buffer.gather_grads()
        return self._buffer.flats()

    def _sum_grads(self, target, scale, total, announced=False):
        comm = self.communicator
        # The order in which the model registers its parameters (which check_same_model
        # checks is the same on every rank): the order of the actual optimizer's fused
        # buffer too, so that the exchange's layout is the same whether or not a rank fuses
        # (a rank where something else holds a parameter's array does not).
        params = list(target.params(include_uninit=False))
        if not params or total == 0:
            # No rank had a sample (a fact every rank has from the exchange): no gradient.
            for param in params:
                param.grad = None
            return
        # Which parameters have a gradient. On one rank, and with zero_fill=False, one with
        # none (anywhere) is not updated, as with the plain optimizer; with zero_fill=True on
        # several ranks a missing gradient counts as zeros and nothing more is exchanged.
        present = numpy.array([p.grad is not None for p in params], numpy.int64)
        if comm.size > 1:
            if self.zero_fill:
                present = None
            else:
                present = comm.allreduce(present)
                partial = [p.name for p, n in zip(params, present) if 0 < n < comm.size]
                if partial:
                    raise ValueError(
                        'MultiNodeOptimizer.update: parameters {} have a gradient on some '
                        'ranks only; use zero_fill=True to count the missing ones as zeros'
                        .format(', '.join(partial)))
        if present is not None and not present.any():
            return
        overlapped, self._overlapped = self._overlapped, None
        if overlapped is not None:
            # the buckets started during backward (zero_fill: every gradient is in a bucket)
            overlapped.finish()
            for flat in self._grad_buffers(params):
                if scale is not None and scale != 1:
                    flat *= scale
            return
        exchange_dtype = getattr(comm, 'allreduce_grad_dtype', None)
        for flat in self._grad_buffers(params):
            if comm.size > 1 and exchange_dtype is not None and exchange_dtype != flat.dtype:
                # compressed exchange: cast (and scale) once into the exchange buffer
                if self._exchange is None:
                    self._exchange = ExchangeBuffers()
                self._exchange.sum(comm, flat, exchange_dtype,
                                   None if scale is None or scale == 1 else scale,
                                   self.deterministic)
                continue
            if comm.size > 1:
                if self.deterministic:
                    flat[...] = comm.allreduce_deterministic(flat)
                else:
                    comm.allreduce_inplace(flat, announced=announced)
            if scale is not None and scale != 1:
                flat *= scale
        if present is not None:
            for param, n in zip(params, present):
                if not n:
                    param.grad = None


def check_same_model(comm, link):
    """Raise ValueError on every rank unless every rank's ``link`` has the same parameters
    (names, shapes, dtypes), registered in the same order (the order of the gradient
    exchange). A parameter not yet initialized on a rank matches any shape. Returns rank 0's
    list of (path, shape, dtype), sorted by path."""
    mine = [(path, None if p.data is None else tuple(p.data.shape),
             None if p.data is None else str(p.data.dtype))
            for path, p in sorted(link.namedparams(), key=lambda item: item[0])]
    # Links whose forward is a collective must be the same everywhere too.
    mine += [('{} ({})'.format(path or '/', type(sub).__name__), (), 'collective forward')
             for path, sub in sorted(link.namedlinks(), key=lambda item: item[0])
             if getattr(sub, 'forward_is_collective', False)]
    order = [path for path, _ in link.namedparams()]
    everyone = comm.allgather_obj((mine, order))
    orders = [theirs_order for _, theirs_order in everyone]
    everyone = [theirs for theirs, _ in everyone]
    reference = everyone[0]
    problems = []
    for rank, theirs in enumerate(everyone[1:], start=1):
        theirs = [ref if (shape is None and ref[0] == path) else (path, shape, dtype)
                  for (path, shape, dtype), ref in zip(theirs, reference)] + \
            theirs[len(reference):]
        if theirs == reference:
            continue
        ref_names = [entry[0] for entry in reference]
        their_names = [entry[0] for entry in theirs]
        if ref_names != their_names:
            only_ref = sorted(set(ref_names) - set(their_names))
            only_theirs = sorted(set(their_names) - set(ref_names))
            detail = []
            if only_ref:
                detail.append('rank 0 has {} that rank {} lacks'.format(
                    ', '.join(only_ref), rank))
            if only_theirs:
                detail.append('rank {} has {} that rank 0 lacks'.format(
                    rank, ', '.join(only_theirs)))
            if not detail:
                detail.append('the parameters are in a different order')
            problems.append('; '.join(detail))
            continue
        for (path, shape0, dtype0), (_, shape1, dtype1) in zip(reference, theirs):
            if (shape0, dtype0) != (shape1, dtype1):
                problems.append('parameter {}: rank 0 has shape {} dtype {}, rank {} has shape '
                                '{} dtype {}'.format(path, shape0, dtype0, rank, shape1, dtype1))
                break
    if not problems:
        for rank, theirs in enumerate(orders[1:], start=1):
            if theirs != orders[0]:
                at = next(i for i, (a, b) in enumerate(zip(orders[0], theirs)) if a != b)
                problems.append('rank 0 registers the parameters in the order {}, rank {} in '
                                'the order {} (they differ from position {}: {} against {}); '
                                'the gradients are exchanged in that order, so build the '
                                'links in the same order on every rank (not from a set)'.format(
                                    ', '.join(orders[0]), rank, ', '.join(theirs), at,
                                    orders[0][at], theirs[at]))
                break
    if problems:
        raise ValueError('create_multi_node_optimizer: the ranks built different models, so '
                         'their gradients cannot be averaged: ' + '; '.join(problems))
    return reference


def create_multi_node_optimizer(actual_optimizer, communicator, zero_fill=True,
                                deterministic=False, backward_passes_per_step=1,
                                micro_batches=1, shard_optimizer_state=False, overlap=False,
                                bucket_mb=25):
    """Wrap ``actual_optimizer`` for data-parallel training over ``communicator``.

    Args:
        actual_optimizer: a dchain optimizer (set it up through the wrapper or before).
        communicator: from ``create_communicator``.
        zero_fill: a parameter without a gradient on a rank (an unused link, an empty share
            of the batch) counts as zeros there, and every parameter is updated, even one
            without a gradient on any rank (ChainerMN's behaviour; no extra collective).
            False: every rank must have the same set of gradients (checked with one more
            small collective per update), and a parameter without one is not updated.
        deterministic: sum the gradients in rank order on every rank, so the result is
            bitwise identical on every rank and from run to run (slower: gathers every
            rank's buffer).
        backward_passes_per_step: Horovod's gradient accumulation: the gradients of this
            many ``update`` calls (each a micro-batch) add up, then one exchange and one
            update (see also ``no_sync()``).
        micro_batches: split the batch of every ``update(lossfun, *batch)`` into this many
            parts, back-propagated one after the other (less memory for activations) and
            summed before one exchange and one update.

        shard_optimizer_state: ZeRO stage 1: each rank keeps and updates 1/N of the optimizer
            state (see ``dchain.distributed.zero``).
        overlap: exchange the gradients in buckets during backward, each as soon as its
            gradients are final (see ``dchain.distributed.overlap``); off by default (on
            the CPU it helps only where each rank has a spare core: docs/performance.md).
            Not with shard_optimizer_state, deterministic or zero_fill=False. With
            accumulation (micro-batches, no_sync) only the last micro-batch's backward
            overlaps; the compressed exchange (``allreduce_grad_dtype``) exchanges after
            backward as without it.
        bucket_mb: the size of a bucket, in megabytes of gradients.

    With accumulation, the update equals that of the whole batch at once: each micro-batch is
    weighted by its samples, over every micro-batch and every rank.
    """
    optimizer = MultiNodeOptimizer(actual_optimizer, communicator, zero_fill, deterministic,
                                   backward_passes_per_step, shard_optimizer_state, overlap,
                                   bucket_mb)
    optimizer.micro_batches = micro_batches
    optimizer._check_micro_batches()
    return optimizer
