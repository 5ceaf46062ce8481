"""FlatParameters: a model's parameters, gradients and optimizer states in flat buffers.

A fused optimizer step then runs a few large in-place operations instead of a dozen small
ones per parameter, and a data-parallel step reduces every gradient with one collective.
"""
import sys

import numpy

from dchain import backend
from dchain.optimizer import work_dtype

# Elements per slice in a fused update on the CPU: large enough that the Python cost of a
# dozen calls per slice stays small, small enough that the slices of the buffers touched in
# one step mostly stay in the cache between operations (measured on a 784-1000-1000-10 MLP).
CPU_BLOCK = 1 << 18


class _Slot:
    __slots__ = ('value',)


def _count(array):
    return sys.getrefcount(array)


def _probe(array):
    return _count(array)  # the same frames as _held_elsewhere, for the calibration


def _calibrate():
    holder = _Slot()
    holder.value = numpy.empty(0)
    array = holder.value
    return _probe(array)


# What sys.getrefcount reports, two calls deep, for an array held by one attribute (or dict
# entry) and one local variable of the caller.
_BASELINE = _calibrate()


def _held_elsewhere(array, expected=0):
    """True when something besides its owner (and ``expected`` known holders) references
    ``array``: rebinding the owner to a view would leave that holder with stale values.

    The caller must hold ``array`` in exactly one local variable.
    """
    return _count(array) - _BASELINE > expected


def _copy_into(view, array, xp):
    if xp is numpy:
        view[...] = backend.to_cpu(array)
    else:
        view[...] = xp.asarray(array)


class FlatParameters:
    """Parameters packed into contiguous flat buffers.

    On construction every parameter's values are copied into ``data`` and ``param.data`` is
    rebound to its view of it (so updating ``data`` updates the parameters and the reverse);
    with ``with_states`` each state array of the parameters' update rules gets the same
    treatment in ``states[name]``.

    Attributes:
        params (list of Parameter): the parameters, in order.
        xp: numpy or cupy; dtype: the common dtype; size: the total number of elements.
        offsets (list of int): where each parameter starts in the buffers (one more entry
            than ``params``, the last being ``size``).
        data (array): the flat parameter buffer, shape (size,).
        grad (array): the flat gradient buffer, shape (size,), filled by ``gather_grads``.
        states (dict): state name (e.g. 'm') to its flat buffer.

    Methods:
        gather_grads(): copy the gradients into ``grad``, binding ``param.grad`` to its view.
        bind_backward(): have backward write the gradients into ``grad`` as they come.
        grads_bound(): whether every ``param.grad`` is its view of ``grad``.
        views(flat): per-parameter views (in the parameters' shapes) of a flat array.
        apply(rule): run ``rule.update_arrays`` over the buffers (the fused update).
        refresh(params): take back arrays replaced since (``param.data = ...``).
        pack(params) / can_pack(params): build one, when possible.
    """

    def __init__(self, params, with_states=False):
        first = params[0].data
        xp = backend.get_array_module(first)
        self.params = list(params)
        self.xp = xp
        self.dtype = first.dtype
        self.shapes = [param.data.shape for param in params]
        offsets = [0]
        for param in params:
            offsets.append(offsets[-1] + param.data.size)
        self.offsets = offsets
        self.size = offsets[-1]
        self.data = xp.empty(self.size, self.dtype)
        self.grad = xp.zeros(self.size, self.dtype)
        self._data_views = self.views(self.data)
        self._grad_views = self.views(self.grad)
        for param, view in zip(params, self._data_views):
            view[...] = param.data
            param.data = view
        self.states = {}
        self._state_views = {}
        self._blocks = None
        self._block_work = None
        if with_states:
            for name in params[0].update_rule.state:
                flat = xp.empty(self.size, self.dtype)
                views = self.views(flat)
                for param, view in zip(params, views):
                    state = param.update_rule.state
                    _copy_into(view, state[name], xp)
                    state[name] = view
                self.states[name] = flat
                self._state_views[name] = views

    @classmethod
    def pack(cls, params):
        """Pack ``params`` and their update rules' states (created here when missing), or
        return None when ``can_pack`` refuses them."""
        for param in params:
            rule = param.update_rule
            if rule.state is None:
                rule._state = {}
                rule.init_state(param)
            else:
                rule._prepare(param)
        if not cls.can_pack(params, with_states=True):
            return None
        return cls(params, with_states=True)

    def views(self, flat):
        """Views of ``flat`` (shape (size,)) in the parameters' shapes, in order."""
        offsets = self.offsets
        return [flat[offsets[i]:offsets[i + 1]].reshape(shape)
                for i, shape in enumerate(self.shapes)]

    def _make_blocks(self, work_arrays):
        # Slices of at most CPU_BLOCK elements (one slice on a GPU), each with the pieces of
        # the parameters it covers: (index, start, stop) in the parameter, (start, stop) in
        # the slice.
        size = self.size
        xp = self.xp
        step = max(1, min(size, CPU_BLOCK) if xp is numpy else size)
        work = [xp.empty(step, work_dtype(self.dtype)) for _ in range(work_arrays)]
        offsets = self.offsets
        blocks = []
        index = 0
        for start in range(0, size, step):
            stop = min(size, start + step)
            pieces = []
            while index < len(self.params) and offsets[index] < stop:
                begin, end = max(start, offsets[index]), min(stop, offsets[index + 1])
                if begin < end:
                    pieces.append((index, begin - offsets[index], end - offsets[index],
                                   begin - start, end - start))
                if offsets[index + 1] > stop:
                    break
                index += 1
            state = {name: array[start:stop] for name, array in self.states.items()}
            blocks.append((self.data[start:stop], self.grad[start:stop], state,
                           [w[:stop - start] for w in work], pieces))
        self._blocks = blocks
        self._block_work = work_arrays
        return blocks

    def apply(self, rule):
        """One fused step: ``rule.update_arrays`` over the flat buffers, slice by slice.

        Reads each parameter's gradient in place (a slice that covers several parameters
        first copies their pieces into ``grad``); ``gather_grads`` first is not needed.
        """
        blocks = self._blocks
        if blocks is None or self._block_work != rule.work_arrays:
            blocks = self._make_blocks(rule.work_arrays)
        coefficients = rule.step_coefficients()
        update_arrays = rule.update_arrays
        if self.xp is not numpy or self.grads_bound():
            self.gather_grads()
            for data, grad, state, work, _ in blocks:
                update_arrays(coefficients, data, grad, state, work)
            return
        sources = [param.grad.reshape(-1) for param in self.params]
        for data, grad, state, work, pieces in blocks:
            if len(pieces) == 1:
                index, begin, end, _, _ = pieces[0]
                grad = sources[index][begin:end]
            else:
                for index, begin, end, block_begin, block_end in pieces:
                    grad[block_begin:block_end] = sources[index][begin:end]
            update_arrays(coefficients, data, grad, state, work)

    @staticmethod
    def can_pack(params, with_states=False):
        """True when ``params`` share a device and a float dtype, and nothing but each
        parameter (and, with ``with_states``, its update rule) holds its arrays."""
        # No local may keep a parameter's array beyond the loop: it would count as a holder.
        xp = backend.get_array_module(params[0].data)
        dtype = params[0].data.dtype
        if dtype.kind != 'f':
            return False
        names = set(params[0].update_rule.state) if with_states else ()
        for param in params:
            data = param.data
            if data.dtype != dtype or backend.get_array_module(data) is not xp:
                return False
            if data.size and not data.flags.c_contiguous:
                return False
            # Parameter(array) keeps the array in its Constant initializer too.
            known = 1 if getattr(param.initializer, 'fill_value', None) is data else 0
            if _held_elsewhere(data, known):
                return False
            if with_states:
                state = param.update_rule.state
                if set(state) != names:
                    return False
                for name in names:
                    value = state[name]
                    if getattr(value, 'shape', None) != data.shape or _held_elsewhere(value):
                        return False
        return True

    def refresh(self, params):
        """Check that ``params`` are still the packed ones, copying any array replaced since
        (by ``param.data = ...``, a re-initialization, or a loaded state) back into the flat
        buffers. Returns False when the layout changed and the buffers must be rebuilt."""
        mine = self.params
        if len(params) != len(mine):
            return False
        xp = self.xp
        state_views = self._state_views
        for i, param in enumerate(params):
            if param is not mine[i]:
                return False
            view = self._data_views[i]
            data = param._data
            if data is not view:
                if (data is None or data.shape != view.shape or data.dtype != view.dtype
                        or backend.get_array_module(data) is not xp or _held_elsewhere(data)):
                    return False
                view[...] = data
                param.data = view
            if state_views:
                state = param.update_rule._state
                if state is None or len(state) != len(state_views):
                    return False
                for name, views in state_views.items():
                    value = state.get(name)
                    if value is not views[i]:
                        if getattr(value, 'shape', None) != view.shape or _held_elsewhere(value):
                            return False
                        _copy_into(views[i], value, xp)
                        state[name] = views[i]
        return True

    def grads_bound(self):
        """True when every ``param.grad`` is its view of ``grad`` (after ``gather_grads``)."""
        for param, view in zip(self.params, self._grad_views):
            grad = param._grad_var
            if grad is None or grad._data is not view:
                return False
        return True

    def bind_backward(self):
        """Make ``Variable.backward`` copy each parameter's first gradient straight into its
        view of ``grad`` (and bind ``param.grad`` to that view) while the gradient is still in
        the cache, so that ``gather_grads`` then has nothing to copy. Worth it where the flat
        buffer is read as a whole anyway (the data-parallel exchange); the plain fused update
        reads the gradients where they are."""
        for param, view in zip(self.params, self._grad_views):
            param._grad_into = view

    def gather_grads(self):
        """Copy every parameter's gradient into ``grad`` and bind ``param.grad`` to its view,
        so that in-place work on ``grad`` (an allreduce, a hook) is seen by the parameters.

        A parameter without a gradient gets zeros. Gradients already bound are not copied.
        """
        views = self._grad_views
        grads = [param.grad for param in self.params]
        pending = [g is not v for g, v in zip(grads, views)]
        if not any(pending):
            return
        if all(pending) and all(g is not None for g in grads):
            self.xp.concatenate([g.reshape(-1) for g in grads], out=self.grad)
        else:
            for grad, view, copy in zip(grads, views, pending):
                if not copy:
                    continue
                if grad is None:
                    view.fill(0)
                else:
                    view[...] = grad
        for param, view in zip(self.params, views):
            param.grad = view
