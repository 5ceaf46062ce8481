"""Sharded optimizer state (ZeRO stage 1, PyTorch's ``ZeroRedundancyOptimizer``).

``create_multi_node_optimizer(actual, comm, shard_optimizer_state=True)``: the parameters are
packed into one flat buffer, cut into ``comm.size`` contiguous parts, and rank r keeps the
optimizer state (Adam's ``m`` and ``v``, a momentum) of part r only. A step:

1. the gradients (weighted as usual) are summed over the ranks with a reduce-scatter, so each
   rank receives the sum of its part only;
2. each rank updates its part of the parameters with its part of the state (the actual
   optimizer's own ``update_arrays``, elementwise, so a part may cut a parameter);
3. the updated parts are all-gathered, so every rank again holds every parameter.

Results equal the unsharded optimizer's up to float rounding; the state per rank is 1/N.
Snapshots keep Chainer's layout with the whole state (``predictor/l1/W/m``): the rank that
saves reads the other ranks' parts through MPI windows (one-sided, so saving on rank 0 alone
calls no collective; the others cannot change their parts meanwhile, since their next step
starts with an exchange that waits for the saving rank). Such a snapshot resumes sharded,
unsharded, and at any number of ranks.

Limits: host (NumPy) parameters of one float dtype and one update rule class, no optimizer
or rule hooks (they would need whole gradients); every parameter is updated every step (one
without a gradient counts as a zero gradient).
"""
import warnings

import numpy

from dchain import _timeline, backend
from dchain.optimizer import work_dtype
from dchain.variable import Parameter


def _not_shardable(actual, named):
    """Why the update rules of ``named`` (path, parameter) cannot be sharded (fused)."""
    first = named[0][1].update_rule
    for path, param in named:
        rule = param.update_rule
        if rule._use_fp32_update and param.data.dtype == numpy.float16:
            return ('{} is float16 with float32 master copies (use_fp32_update, as mixed16 '
                    'makes them), which are not sharded; use the unsharded optimizer or '
                    'float32 parameters'.format(path))
        if rule._pre_update_hooks or rule._post_update_hooks:
            return '{} has update-rule hooks ({}); remove them'.format(path, ', '.join(
                list(rule._pre_update_hooks) + list(rule._post_update_hooks)))
        if rule.hyperparam._parent is not actual.hyperparam or \
                len(rule.hyperparam.__dict__) != 1:
            return '{} has hyperparameters of its own; set them on the optimizer'.format(path)
        if type(rule) is not type(first) or rule.t != first.t:
            return '{} has another update rule or step count than {}'.format(path, named[0][0])
    return ('{} cannot update flat buffers (no update_arrays); use the unsharded '
            'optimizer'.format(type(first).__name__))


class ShardedState:
    """The parts of the flat parameters, gradients and optimizer state this rank owns."""

    def __init__(self, optimizer):
        from dchain.optimizers.flat import FlatParameters
        actual = optimizer.actual_optimizer
        comm = optimizer.communicator
        label = 'create_multi_node_optimizer(shard_optimizer_state=True)'
        if actual._pre_update_hooks or actual._post_update_hooks:
            raise ValueError('{}: optimizer hooks need whole gradients; remove {}'.format(
                label, ', '.join(list(actual._pre_update_hooks) +
                                 list(actual._post_update_hooks))))
        named = [(path, p) for path, p in sorted(actual.target.namedparams(include_uninit=False))
                 if p.update_rule is not None and p.update_rule.enabled]
        params = [p for _, p in named]
        if not params:
            raise ValueError('{}: the model has no parameter to update'.format(label))
        if any(backend.is_gpu_array(p.data) for p in params):
            raise ValueError('{}: needs host (NumPy) parameters; use the unsharded optimizer '
                             'on GPUs'.format(label))
        if len({p.data.dtype for p in params}) != 1 or params[0].data.dtype.kind != 'f':
            raise ValueError('{}: needs parameters of one float dtype, got {}'.format(
                label, sorted({str(p.data.dtype) for p in params})))
        if not actual._rules_fusable(params):
            raise ValueError('{}: {}'.format(label, _not_shardable(actual, named)))
        self.optimizer = optimizer
        self.paths = [path for path, _ in named]
        saved_states = [p.update_rule.state for p in params]  # from a loaded snapshot
        self.flat = flat = FlatParameters(params)
        flat.bind_backward()
        size, ranks = flat.size, comm.size
        self.bounds = [size * r // ranks for r in range(ranks + 1)]
        self.counts = [self.bounds[r + 1] - self.bounds[r] for r in range(ranks)]
        self.start, self.stop = self.bounds[comm.rank], self.bounds[comm.rank + 1]
        part = self.stop - self.start
        rule = actual.create_update_rule()
        stand_in = Parameter(numpy.zeros(part, flat.dtype))
        stand_in.grad = stand_in.data
        rule._state = {}
        rule.init_state(stand_in)
        rule.t = params[0].update_rule.t
        self.rule = rule
        self.state = rule._state
        self.grad = numpy.empty(part, flat.dtype)
        self.work = [numpy.empty(part, work_dtype(flat.dtype)) for _ in range(rule.work_arrays)]
        self.exposed = {name: comm.expose(self.state[name]) for name in sorted(self.state)}
        self.adopt(saved_states)

    def adopt(self, states):
        """Take this rank's part of whole per-parameter states (loaded from a file) and drop
        the whole ones."""
        flat = self.flat
        for index, state in enumerate(states):
            if not state:
                continue
            begin, end = flat.offsets[index], flat.offsets[index + 1]
            low, high = max(begin, self.start), min(end, self.stop)
            for name, value in state.items():
                if name in self.state and low < high:
                    whole = backend.to_cpu(value).reshape(-1)
                    self.state[name][low - self.start:high - self.start] = \
                        whole[low - begin:high - begin]
        for param in flat.params:
            param.update_rule._state = None

    def step(self, scale):
        """Reduce-scatter the gradients, update this rank's part, all-gather the parameters."""
        optimizer = self.optimizer
        actual = optimizer.actual_optimizer
        comm = optimizer.communicator
        flat = self.flat
        mark = _timeline.mark()
        flat.gather_grads()
        comm.reduce_scatter(flat.grad, self.grad, self.counts)
        grad = self.grad
        if scale is not None and scale != 1:
            grad *= scale
        if actual._loss_scale is not None:
            grad /= actual._loss_scale
        actual._loss_scaling_isnan = False
        if actual._loss_scaling_is_dynamic:
            flag = numpy.array([0 if bool(numpy.isfinite(grad).all()) else 1], numpy.int64)
            comm.allreduce_inplace(flag)  # each rank saw its part: agree
            if flag[0]:
                actual._loss_scaling_isnan = actual._loss_scaling_isnan_ever = True
                warnings.warn('{}: non-finite gradient (update {}, loss scale {:g}): the step '
                              'is skipped and the scale halved'.format(
                                  type(actual).__name__, actual.t + 1, actual._loss_scale))
        _timeline.span('exchange', mark)
        mark = _timeline.mark()
        actual.t += 1
        if not actual._loss_scaling_isnan:
            rule = self.rule
            rule.t += 1
            for param in flat.params:
                param.update_rule.t += 1
            rule.update_arrays(rule.step_coefficients(), flat.data[self.start:self.stop], grad,
                               self.state, self.work)
        _timeline.span('update', mark)
        mark = _timeline.mark()
        comm.allgatherv_inplace(flat.data, self.counts)
        _timeline.span('exchange', mark)
        actual.update_loss_scale()

    def save(self, serializer):
        """Write the whole state in Chainer's layout (rank-local: reads the other ranks' parts
        through their windows)."""
        comm = self.optimizer.communicator
        flat = self.flat
        for name in sorted(self.state):
            whole = numpy.empty(flat.size, flat.dtype)
            for rank in range(comm.size):
                comm.read_exposed(self.exposed[name], rank,
                                  whole[self.bounds[rank]:self.bounds[rank + 1]])
            for path, view in zip(self.paths, flat.views(whole)):
                serializer[path.lstrip('/')](name, view)
