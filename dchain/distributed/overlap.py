"""Overlap of the gradient exchange with backward (``create_multi_node_optimizer(overlap=True)``).

The flat gradient buffer of the update (the actual optimizer's ``FlatParameters.grad``, or the
multi-node optimizer's own) is cut into buckets of about ``bucket_mb`` megabytes, from its
last parameter to its first: roughly the order in which backward finishes the gradients
(the last layers first). During backward, ``dchain.variable.watch_grads`` reports each
parameter whose gradient is final; when every parameter of the next bucket is, its gradients
are copied into the buffer and its non-blocking allreduce starts (``Buckets.start``). Buckets
start strictly in plan order, so every rank starts the same buckets in the same order
whatever the timing: the plan depends only on the checked model's parameters and the
settings, which every rank's step exchange compares. Between two backward nodes the started
allreduces are tested (MPI progresses non-blocking collectives only inside MPI calls); the
update waits for all of them.

The sum is the same as the one allreduce of the whole buffer, so the result is unchanged.
With accumulation only the last micro-batch's backward is watched (the earlier ones only add
up locally); its step exchange, with the announced allreduce, comes before its backward.
"""
from dchain.variable import watch_grads

# Test the started allreduces between backward nodes (False: only start and wait, for a
# measurement of how much of the overlap MPI makes without being called).
TEST_BETWEEN_NODES = True


class BucketPlan:
    """The buckets of a flat gradient buffer: ``buckets`` lists (first, stop) parameter
    indexes, the last parameters first, each bucket at least ``bucket_elements`` elements
    (but the last one)."""

    def __init__(self, flat, params, views, bucket_elements):
        self.flat, self.params, self.views = flat, list(params), list(views)
        self.buckets = []
        stop = len(self.params)
        size = 0
        for index in range(len(self.params) - 1, -1, -1):
            size += self.params[index].data.size
            if size >= bucket_elements or index == 0:
                self.buckets.append((index, stop))
                stop, size = index, 0
        self.offsets = [0]
        for param in self.params:
            self.offsets.append(self.offsets[-1] + param.data.size)
        self.bucket_of = {}
        for k, (first, stop) in enumerate(self.buckets):
            for index in range(first, stop):
                self.bucket_of[id(self.params[index])] = k

    def matches(self, flat, params):
        return flat is self.flat and len(params) == len(self.params) and all(
            p is q for p, q in zip(params, self.params))


class OverlappedExchange:
    """One step's exchange: ``watch()`` is the context to run backward in, ``finish()``
    starts what backward did not (parameters without a gradient count as zeros) and waits."""

    def __init__(self, plan, buckets):
        self.plan = plan
        self.exchange = buckets
        self.remaining = [stop - first for first, stop in plan.buckets]
        self.next = 0
        self.done = False

    def watch(self):
        return watch_grads(self.plan.params, self._ready,
                           self._between if TEST_BETWEEN_NODES else None)

    def _ready(self, param):
        k = self.plan.bucket_of.get(id(param))
        if k is None:
            return
        self.remaining[k] -= 1
        while self.next < len(self.remaining) and self.remaining[self.next] == 0:
            self._start(self.next)
            self.next += 1

    def _start(self, k):
        plan = self.plan
        first, stop = plan.buckets[k]
        for index in range(first, stop):
            param, view = plan.params[index], plan.views[index]
            grad = param.grad
            if grad is None:
                view.fill(0)
            elif grad is not view:
                view[...] = grad
            param.grad = view
        self.exchange.start(plan.flat[plan.offsets[first]:plan.offsets[stop]])
        self.done = False

    def _between(self):
        if self.next and not self.done:
            self.done = self.exchange.test()

    def finish(self):
        for k in range(self.next, len(self.remaining)):
            self._start(k)
        self.next = len(self.remaining)
        self.exchange.wait()
