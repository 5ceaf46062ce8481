"""The multi-node optimizer: average gradients over ranks, then run the actual optimizer.

On the first update it checks that every rank built the same model and copies rank 0's
parameters and persistent values to every rank. Each update then averages the gradients in
one fused, pre-allocated buffer per dtype, weighted by each rank's number of samples in the
step, so ranks with uneven (or empty) batches still compute the gradient of the global batch.
"""
import numpy

from dchain import _timeline, backend
from dchain.serializers.base import Deserializer

# Hyperparameters that extensions (ExponentialShift, LinearShift, observe_lr) read and set on
# "the optimizer"; the wrapper passes them through explicitly.
_HYPERPARAMETERS = ('lr', 'alpha', 'beta1', 'beta2', 'eps', 'eta', 'momentum', 'rho',
                    'weight_decay_rate', 'amsgrad')


def _count_samples(args, kwds):
    """The number of samples in a step: the length of the first array argument."""
    for value in list(args) + list(kwds.values()):
        shape = getattr(value, 'shape', None)
        if shape:
            return int(shape[0])
    return 1


class _GradientBuffer:
    """One contiguous buffer per dtype holding every parameter's gradient for the allreduce."""

    def __init__(self, params):
        self.params = params
        self.signature = [(id(p), p.data.shape, p.data.dtype) for p in params]
        self.groups = {}
        for index, param in enumerate(params):
            self.groups.setdefault((param.data.dtype, backend.is_gpu_array(param.data)),
                                   []).append(index)
        self.buffers = {}
        self.offsets = {}
        for key, indexes in self.groups.items():
            dtype, on_gpu = key
            offsets = [0]
            for i in indexes:
                offsets.append(offsets[-1] + params[i].data.size)
            xp = params[indexes[0]].xp
            self.buffers[key] = xp.empty(offsets[-1], dtype)
            self.offsets[key] = offsets

    def matches(self, params):
        return len(params) == len(self.signature) and all(
            id(p) == s[0] and p.data.shape == s[1] and p.data.dtype == s[2]
            for p, s in zip(params, self.signature))


class MultiNodeOptimizer:
    """Wraps an optimizer so that each update uses the gradient of the global batch.

    Made by ``create_multi_node_optimizer``. It has its own ``setup``, ``update``, ``target``,
    ``t``, ``epoch``, ``new_epoch``, ``add_hook``, ``remove_hook``, ``serialize`` and the
    usual hyperparameters (``lr``, ``alpha``, ...), each passed to the actual optimizer.
    """

    def __init__(self, actual_optimizer, communicator, zero_fill=True, deterministic=False):
        self.actual_optimizer = actual_optimizer
        self.communicator = communicator
        self.zero_fill = zero_fill
        self.deterministic = deterministic
        self._synchronized = False
        self._buffer = None

    # -- the optimizer's face ---------------------------------------------------------------
    def setup(self, link):
        """Set up the actual optimizer on ``link``; returns self."""
        self.actual_optimizer.setup(link)
        self._synchronized = False
        self._buffer = None
        return self

    @property
    def target(self):
        """The link being optimized."""
        return self.actual_optimizer.target

    @property
    def t(self):
        """The number of updates done."""
        return self.actual_optimizer.t

    @property
    def epoch(self):
        """The epoch count of the actual optimizer."""
        return self.actual_optimizer.epoch

    @property
    def use_auto_new_epoch(self):
        """Whether the updater calls ``new_epoch`` (forwarded both ways)."""
        return self.actual_optimizer.use_auto_new_epoch

    @use_auto_new_epoch.setter
    def use_auto_new_epoch(self, value):
        self.actual_optimizer.use_auto_new_epoch = value

    def set_loss_scale(self, loss_scale):
        """Set the static loss scale of the actual optimizer."""
        self.actual_optimizer.set_loss_scale(loss_scale)

    def new_epoch(self, auto=False):
        """Start a new epoch (forwarded)."""
        self.actual_optimizer.new_epoch(auto=auto)

    def add_hook(self, hook, name=None, timing='auto'):
        """Add a hook to the actual optimizer (it sees the averaged gradients)."""
        self.actual_optimizer.add_hook(hook, name=name, timing=timing)

    def remove_hook(self, name):
        """Remove a hook of the actual optimizer."""
        self.actual_optimizer.remove_hook(name)

    def serialize(self, serializer):
        """Save or load the actual optimizer's state (the file layout is the same)."""
        self.actual_optimizer.serialize(serializer)
        if isinstance(serializer, Deserializer):
            # only loading can make the ranks differ; saving is often done by rank 0 alone,
            # and must not send it into a collective the others do not run
            self._synchronized = False

    # -- the update --------------------------------------------------------------------------
    def update(self, lossfun=None, *args, **kwds):
        """One step on the global batch.

        With ``lossfun``: compute the loss on this rank's samples (its mean over them), clear
        the grads, backward, average the gradients over ranks weighted by sample counts, and
        update. Without: average the gradients already there (equal weights) and update.
        A rank with no samples in the step passes zero-length arrays and adds nothing.
        """
        target = self.target
        if target is None:
            raise RuntimeError('MultiNodeOptimizer.update: call setup(link) first')
        comm = self.communicator
        count = _count_samples(args, kwds) if lossfun is not None else 1
        if not self._synchronized:
            if lossfun is not None and count and any(
                    p.data is None for p in target.params()):
                # Lazily initialized parameters take their shapes from the first forward.
                target.cleargrads()
                lossfun(*args, **kwds)
            self._synchronize(target)
        if lossfun is not None:
            target.cleargrads()
            if count:
                mark = _timeline.mark()
                loss = lossfun(*args, **kwds)
                _timeline.span('forward', mark)
                mark = _timeline.mark()
                loss.backward()
                del loss
                _timeline.span('backward', mark)
        if comm.size > 1:
            mark = _timeline.mark()
            self._mean_grads(target, count)
            _timeline.span('exchange', mark)
        self.actual_optimizer.update()

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

    def _mean_grads(self, target, count):
        comm = self.communicator
        params = [p for _, p in sorted(target.namedparams(include_uninit=False),
                                       key=lambda item: item[0])]
        if self._buffer is None or not self._buffer.matches(params):
            self._buffer = _GradientBuffer(params)
        buffer = self._buffer
        # One tiny reduction first: the sample total, and which parameters have a gradient
        # anywhere, so the big one needs no second pass to divide.
        header = numpy.zeros(len(params) + 1, numpy.int64)
        header[0] = count
        for i, param in enumerate(params):
            header[i + 1] = param.grad is not None
        header = comm.allreduce(header)
        total = int(header[0])
        if not self.zero_fill:
            partial = [params[i].name for i in range(len(params))
                       if 0 < header[i + 1] < comm.size]
            if partial:
                raise ValueError('MultiNodeOptimizer.update: parameters {} have a gradient on '
                                 'some ranks only; use zero_fill=True to count the missing ones '
                                 'as zeros'.format(', '.join(partial)))
        if total == 0:
            for param in params:
                param.grad = None
            return
        weight = count / total
        for key, indexes in buffer.groups.items():
            flat = buffer.buffers[key]
            offsets = buffer.offsets[key]
            xp = backend.get_array_module(flat)
            for position, i in enumerate(indexes):
                view = flat[offsets[position]:offsets[position + 1]]
                grad = params[i].grad
                if grad is None or count == 0:
                    view.fill(0)
                else:
                    xp.multiply(grad.reshape(-1), weight, out=view)
            if self.deterministic:
                flat[...] = comm.allreduce_deterministic(flat)
            else:
                comm.allreduce_inplace(flat)
            for position, i in enumerate(indexes):
                param = params[i]
                if header[i + 1]:
                    param.grad = flat[offsets[position]:offsets[position + 1]].reshape(
                        param.data.shape)
                else:
                    param.grad = None


def check_same_model(comm, link):
    """Raise ValueError on every rank unless every rank's ``link`` has the same parameters
    (names, shapes, dtypes, in order). A parameter not yet initialized on a rank matches any
    shape. Returns rank 0's list of (path, shape, dtype)."""
    mine = [(path, None if p.data is None else tuple(p.data.shape),
             None if p.data is None else str(p.data.dtype))
            for path, p in sorted(link.namedparams(), key=lambda item: item[0])]
    everyone = comm.allgather_obj(mine)
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
    if problems:
        raise ValueError('create_multi_node_optimizer: the ranks built different models, so '
                         'their gradients cannot be averaged: ' + '; '.join(problems))
    return reference


def _hyperparameter(name):
    def getter(self):
        return getattr(self.actual_optimizer, name)

    def setter(self, value):
        setattr(self.actual_optimizer, name, value)
    return property(getter, setter, doc='The actual optimizer\'s ``{}``.'.format(name))


for _name in _HYPERPARAMETERS:
    setattr(MultiNodeOptimizer, _name, _hyperparameter(_name))


def create_multi_node_optimizer(actual_optimizer, communicator, zero_fill=True,
                                deterministic=False):
    """Wrap ``actual_optimizer`` for data-parallel training over ``communicator``.

    Args:
        actual_optimizer: a dchain optimizer (set it up through the wrapper or before).
        communicator: from ``create_communicator``.
        zero_fill: a parameter without a gradient on some ranks counts as zeros there.
        deterministic: sum the gradients in rank order on every rank, so the result is
            bitwise identical on every rank and from run to run (slower: gathers every
            rank's buffer).
    """
    return MultiNodeOptimizer(actual_optimizer, communicator, zero_fill, deterministic)
