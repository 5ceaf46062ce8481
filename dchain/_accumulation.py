"""Gradient accumulation: one optimizer step over several micro-batches.

A global batch too large for memory is processed in micro-batches whose gradients add up
before one update (and, in data-parallel training, one exchange): PyTorch DDP's ``no_sync``,
Horovod's ``backward_passes_per_step``. Each micro-batch's loss (a mean over its samples) is
back-propagated weighted by its number of samples; at the update the sum is divided by the
step's total, over every micro-batch (and every rank), so the update equals that of the
whole batch at once, uneven micro-batches and shards included.

Three ways in, one mechanism, on plain and multi-node optimizers alike::

    optimizer.micro_batches = 4                # every update(lossfun, *batch) in 4 parts
    with optimizer.no_sync():                  # a custom loop: accumulate ...
        optimizer.update(model, x0, t0)
        optimizer.update(model, x1, t1)
    optimizer.update(model, x2, t2)            # ... and step (exchange once) here
    create_multi_node_optimizer(opt, comm, backward_passes_per_step=4)  # Horovod's
"""
import contextlib

import numpy

from dchain import backend, reporter


def count_samples(args, kwds):
    """The number of samples in a batch: the length of the first array argument (1 when
    there is none)."""
    for value in list(args) + list((kwds or {}).values()):
        shape = getattr(value, 'shape', None)
        if shape:
            return int(shape[0])
    return 1


def split_batch(parts, args, kwds):
    """``parts`` (args, kwds) pairs, each with a contiguous slice of every array argument
    that has the batch's length (as even as possible; some empty when the batch has fewer
    samples than parts); other arguments are passed to every part as they are."""
    n = count_samples(args, kwds)
    bounds = [n * i // parts for i in range(parts + 1)]

    def cut(value, start, stop):
        shape = getattr(value, 'shape', None)
        return value[start:stop] if shape and shape[0] == n else value
    return [(tuple(cut(a, start, stop) for a in args),
             {key: cut(v, start, stop) for key, v in (kwds or {}).items()})
            for start, stop in zip(bounds[:-1], bounds[1:])]


class Accumulation:
    """What both optimizers share: ``no_sync``, ``micro_batches`` and the bookkeeping. The
    optimizer's ``update`` calls ``_accumulating_update`` first."""

    micro_batches = 1     # parts each update(lossfun, ...) is split into
    _no_sync_depth = 0
    _splitting = False
    _accumulated = None   # samples back-propagated since the last step (None: nothing pending)

    @contextlib.contextmanager
    def no_sync(self):
        """Within the block, ``update(lossfun, *args)`` only adds this batch's gradients (no
        exchange between ranks, no update); the first ``update`` after it adds its own and
        takes the step on the sum. (Every rank runs the same number of updates in the block;
        a rank without samples passes zero-length arrays.)"""
        self._no_sync_depth += 1
        try:
            yield self
        finally:
            self._no_sync_depth -= 1

    def _check_micro_batches(self):
        k = self.micro_batches
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError('{}.update: micro_batches must be a positive int, got {!r}'.format(
                type(self).__name__, k))
        return k

    def _split_update(self, lossfun, args, kwds):
        """With ``micro_batches`` > 1 (and a loss function), run the update in parts; returns
        True when it did."""
        k = self._check_micro_batches()
        if k == 1 or lossfun is None or self._no_sync_depth or self._splitting:
            return False
        parts = split_batch(k, args, kwds)
        reporting = _reporter_active()
        observations = []
        self._splitting = True
        try:
            for index, (part_args, part_kwds) in enumerate(parts):
                observation = {}
                with contextlib.ExitStack() as stack:
                    if index < len(parts) - 1:
                        stack.enter_context(self.no_sync())
                    if reporting:
                        stack.enter_context(reporter.report_scope(observation))
                    self.update(lossfun, *part_args, **part_kwds)
                observations.append((count_samples(part_args, part_kwds), observation))
        finally:
            self._splitting = False
        if reporting:
            reporter.report(merge_observations(observations))
        return True

    def _accumulate(self, compute, lossfun, args, kwds, forward_anyway=False):
        """Back-propagate one micro-batch weighted by its samples, adding to the gradients
        since the last step (``compute(lossfun, args, kwds, grad_scale, accumulate)``).
        Returns this rank's samples so far in the step."""
        if lossfun is None:
            raise ValueError('{}.update: inside no_sync (or with micro-batches pending) pass '
                             'the loss function and its batch'.format(type(self).__name__))
        count = count_samples(args, kwds)
        first = self._accumulated is None
        if first:
            self.target.cleargrads()  # the previous step's gradients are not this step's
        if count or forward_anyway:
            compute(lossfun, args, kwds, float(count), True)
        self._accumulated = (0 if first else self._accumulated) + count
        return self._accumulated

    def _end_accumulation(self):
        total, self._accumulated = self._accumulated, None
        return total


def _reporter_active():
    try:
        reporter.get_current_reporter()
    except RuntimeError:
        return False
    return True


def _scalar(value):
    array = getattr(value, 'array', value)
    if backend.is_gpu_array(array):
        array = backend.to_cpu(array)
    array = numpy.asarray(array)
    return float(array) if array.ndim == 0 and array.dtype.kind in 'fiub' else None


def merge_observations(observations):
    """What the micro-batches of a step reported, as if the whole batch had been reported
    once: each scalar the mean over the micro-batches weighted by their samples (the loss
    of the whole batch); anything else the last value. ``observations`` holds (samples,
    observation dict) pairs."""
    merged = {}
    for key in {key for _, observation in observations for key in observation}:
        present = [(n, observation[key]) for n, observation in observations
                   if key in observation]
        values = [(n, _scalar(value)) for n, value in present if n]
        if values and all(value is not None for _, value in values):
            weight = sum(n for n, _ in values)
            merged[key] = sum(n * value for n, value in values) / weight
        else:
            merged[key] = present[-1][1]
    return merged


def divide_grads(params, divisor):
    """Divide every gradient of ``params`` by ``divisor`` in place."""
    for param in params:
        grad = param.grad
        if grad is not None:
            grad /= divisor
