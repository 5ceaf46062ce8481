"""Variable and Parameter: arrays that remember how they were computed, and backward over them.

A Variable holds an array (``data``/``array``), its gradient (``grad`` as an array, ``grad_var``
as a Variable) and the FunctionNode that created it (``creator``). ``backward()`` walks the
creators from the highest rank (generation) down, so a node runs only after every path into
its outputs has delivered its gradient.
"""
import heapq

import numpy

from dchain import backend
from dchain.config import config, using_config

_ARRAY_TYPES = (numpy.ndarray,)


def _is_array(x):
    return isinstance(x, numpy.ndarray) or backend.is_gpu_array(x)


def _type_name(x):
    module = type(x).__module__
    return type(x).__name__ if module == 'builtins' else module + '.' + type(x).__name__


class Variable:
    """An array in the computational graph.

    Args:
        data (numpy.ndarray or cupy.ndarray or None): the value.
        name (str): a label used in error messages and graph dumps.
        grad (array): an initial gradient.
        requires_grad (bool): whether backward computes a gradient for this variable.
    """

    __slots__ = ('_data', '_grad_var', 'creator', 'rank', 'requires_grad', 'name',
                 '__weakref__', '__dict__')
    # A leaf's view of a flat gradient buffer: ``backward`` copies the leaf's first gradient
    # into it while the gradient is still in the cache (see FlatParameters.bind_backward).
    _grad_into = None
    # Make numpy defer to our operators in ``ndarray + Variable``.
    __array_priority__ = 200

    def __init__(self, data=None, *, name=None, grad=None, requires_grad=True):
        self._data = None
        if data is not None and not _is_array(data):
            raise TypeError('Variable: data must be a numpy.ndarray or cupy.ndarray, got {}'
                            .format(_type_name(data)))
        self._data = data
        self._grad_var = None
        self.creator = None
        self.rank = 0
        self.requires_grad = requires_grad
        self.name = name
        if grad is not None:
            self.grad = grad

    # -- the array and its metadata -------------------------------------------------------
    @property
    def data(self):
        """The underlying array."""
        return self._data

    @data.setter
    def data(self, value):
        if value is not None and not _is_array(value):
            raise TypeError('Variable.data: expected a numpy.ndarray or cupy.ndarray, got {}'
                            .format(_type_name(value)))
        self._data = value

    array = data

    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def size(self):
        return self._data.size

    @property
    def xp(self):
        """numpy or cupy, whichever holds the data."""
        return backend.get_array_module(self._data)

    @property
    def device(self):
        return backend.get_device_from_array(self._data)

    def __len__(self):
        if self._data is None or self._data.ndim == 0:
            raise TypeError('len() of a 0-dimensional or uninitialized Variable')
        return self._data.shape[0]

    def item(self):
        """The value of a one-element variable as a Python scalar."""
        return self._data.item()

    # -- gradient -------------------------------------------------------------------------
    @property
    def grad(self):
        """The gradient as an array (None when there is none)."""
        g = self._grad_var
        return None if g is None else g._data

    @grad.setter
    def grad(self, value):
        if value is None:
            self._grad_var = None
        elif isinstance(value, Variable):
            self._grad_var = value
        elif _is_array(value):
            self._grad_var = _leaf(value)
        else:
            raise TypeError('Variable.grad: expected an array or None, got {}'
                            .format(_type_name(value)))

    @property
    def grad_var(self):
        """The gradient as a Variable (it has a creator after double backprop)."""
        return self._grad_var

    @grad_var.setter
    def grad_var(self, value):
        if value is not None and not isinstance(value, Variable):
            raise TypeError('Variable.grad_var: expected a Variable or None, got {}'
                            .format(_type_name(value)))
        self._grad_var = value

    def cleargrad(self):
        """Forget the gradient (the next backward starts from nothing)."""
        self._grad_var = None

    def zerograd(self):
        """Set the gradient to zeros of the data's shape (Chainer's older style)."""
        if self._data is not None:
            self._grad_var = _leaf(self.xp.zeros_like(self._data))

    def addgrad(self, var):
        """Add ``var``'s gradient into this one (allocating it when there is none)."""
        other = var._grad_var
        if other is None:
            return
        if self._grad_var is None:
            self._grad_var = _leaf(other._data.copy())
        else:
            self._grad_var = _leaf(self._grad_var._data + backend.get_device_from_array(
                self._data).send(other._data))

    def copydata(self, var):
        """Copy ``var``'s data into this variable's array in place."""
        src = var._data if isinstance(var, Variable) else var
        xp = self.xp
        if xp is numpy:
            numpy.copyto(self._data, backend.to_cpu(src))
        else:
            xp.copyto(self._data, xp.asarray(src))

    # -- graph ----------------------------------------------------------------------------
    def set_creator(self, node):
        self.creator = node
        self.rank = node.rank + 1

    def unchain(self):
        """Cut the link to the creator: this variable becomes a leaf."""
        self.creator = None

    def unchain_backward(self):
        """Cut every link in the graph behind this variable, so the graph can be freed."""
        node = self.creator
        self.creator = None
        stack = [node] if node is not None else []
        seen = set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for x in node.inputs or ():
                if x.creator is not None:
                    stack.append(x.creator)
                    x.creator = None
            # Outputs still held elsewhere (an RNN's cell state) become leaves too, as in
            # Chainer, instead of pointing at a node that lost its inputs.
            node.unchain()

    def backward(self, retain_grad=False, enable_double_backprop=False, loss_scale=None):
        """Compute gradients of this variable with respect to every variable behind it.

        Leaf variables (those with ``requires_grad``) accumulate into ``grad``; intermediate
        gradients are freed unless ``retain_grad``. A variable of more than one element
        needs its own ``grad`` set first. With ``enable_double_backprop`` the gradients are
        themselves differentiable.
        """
        if self.creator is None:
            return
        if self._grad_var is None:
            # one element: a loss; none: a delegate variable (distributed.functions.send)
            if self._data.size > 1:
                raise ValueError(
                    'Variable.backward: the initial gradient is implicit only for a variable of '
                    'one element (or none); set .grad first for shape {}'.format(self._data.shape))
            self._grad_var = _leaf(self.xp.ones_like(self._data))
            if loss_scale is not None:
                self._grad_var._data *= loss_scale
        watch, _watch[0] = _watch[0], None  # only the outermost walk reports (see watch_grads)
        try:
            with using_config('enable_backprop', enable_double_backprop):
                _backward_from([self], retain_grad, keep=(self,), watch=watch, into=True)
        finally:
            _watch[0] = watch

    # -- array-like helpers -----------------------------------------------------------------
    def reshape(self, *shape):
        from dchain.functions.array.reshape import reshape
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return reshape(self, tuple(shape))

    def transpose(self, *axes):
        from dchain.functions.array.transpose import transpose
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return transpose(self, tuple(axes) if axes else None)

    @property
    def T(self):
        from dchain.functions.array.transpose import transpose
        return transpose(self)

    def to_cpu(self):
        """Move data and gradient to the host, in place."""
        self._data = backend.to_cpu(self._data)
        if self._grad_var is not None:
            self._grad_var._data = backend.to_cpu(self._grad_var._data)
        return self

    def to_gpu(self, device=None):
        """Move data and gradient to a GPU, in place."""
        self._data = backend.to_gpu(self._data, device)
        if self._grad_var is not None:
            self._grad_var._data = backend.to_gpu(self._grad_var._data, device)
        return self

    def to_device(self, device):
        """Move data and gradient to ``device`` ('@numpy', '@cupy:0', -1, 0, ...), in place."""
        device = backend.get_device(device)
        self._data = device.send(self._data)
        if self._grad_var is not None:
            self._grad_var._data = device.send(self._grad_var._data)
        return self

    def __repr__(self):
        if self._data is None:
            return 'variable({}, uninitialized)'.format(self.name or '')
        body = repr(self._data)
        body = body[body.index('('):] if body.startswith('array(') else '(' + body + ')'
        return 'variable' + body

    def __str__(self):
        return 'variable ' + ('' if self.name is None else self.name + ' ') + str(self._data)

    # Comparisons act on the data and return arrays, like NumPy's; hashing stays by identity.
    def __lt__(self, other):
        return self._data < _raw(other)

    def __le__(self, other):
        return self._data <= _raw(other)

    def __eq__(self, other):
        return self._data == _raw(other)

    def __ne__(self, other):
        return self._data != _raw(other)

    def __gt__(self, other):
        return self._data > _raw(other)

    def __ge__(self, other):
        return self._data >= _raw(other)

    __hash__ = object.__hash__

    def __bool__(self):
        raise TypeError('Variable: the truth value of a Variable is ambiguous; compare its '
                        '.array instead')

    # Operators are attached by dchain.functions.math.basic_math (they need the functions).


def _raw(x):
    return x._data if isinstance(x, Variable) else x


def _leaf(array):
    """A gradient-holding Variable without the checks of __init__ (hot path)."""
    v = Variable.__new__(Variable)
    v._data = array
    v._grad_var = None
    v.creator = None
    v.rank = 0
    v.requires_grad = False
    v.name = None
    return v


def as_variable(x):
    """Return ``x`` if it is a Variable, else wrap the array in one that needs no gradient."""
    if isinstance(x, Variable):
        return x
    if not _is_array(x):
        raise TypeError('as_variable: expected a Variable or an array, got {}'.format(
            _type_name(x)))
    return _leaf(x)


def as_array(x):
    """The array inside ``x`` (a Variable or an array)."""
    return x._data if isinstance(x, Variable) else x


class Parameter(Variable):
    """A Variable that a Link owns and an optimizer updates.

    Args:
        initializer: an initializer (callable filling an array), a scalar, an array, or None
            (LeCunNormal). When it is an array, it is the initial data.
        shape: the shape, or None to initialize later with ``initialize(shape)`` (lazily, on
            the first call of the owning link).
        name (str): the attribute name in the link.
    """

    __slots__ = ()

    def __init__(self, initializer=None, shape=None, name=None):
        from dchain import initializers
        if _is_array(initializer):
            super().__init__(initializer, name=name)
            self.initializer = initializers.Constant(initializer)
        else:
            if initializer is None:
                initializer = initializers.LeCunNormal()
            elif numpy.isscalar(initializer):
                initializer = initializers.Constant(initializer)
            super().__init__(None, name=name)
            self.initializer = initializer
            if shape is not None:
                self.initialize(shape)
        self.update_rule = None

    @property
    def is_initialized(self):
        return self._data is not None

    def initialize(self, shape):
        """Create the data with ``shape`` from the initializer (on the host, or the GPU of
        ``self._device_hint`` when the owning link moved to one)."""
        from dchain import initializers
        device = self.__dict__.get('_device_hint')
        xp = numpy if device is None else device.xp
        self._data = initializers.generate_array(self.initializer, shape, xp)
        if device is not None:
            self._data = device.send(self._data)

    def zerograd(self):
        if self._data is not None:
            super().zerograd()

    def to_device(self, device):
        device = backend.get_device(device)
        self.__dict__['_device_hint'] = device
        if self._data is not None:
            super().to_device(device)
        return self

    def to_cpu(self):
        return self.to_device(backend.CPU)

    def to_gpu(self, device=None):
        if device is None:
            device = backend._require_cupy('Parameter.to_gpu').cuda.Device().id
        return self.to_device(backend.get_device(device if not hasattr(device, 'id')
                                                 else device.id))

    def __repr__(self):
        return 'parameter' + Variable.__repr__(self)[len('variable'):]


class watch_grads:
    """Report, during the next ``Variable.backward``, when each of some leaves' gradients is
    final (used by the data-parallel optimizer to start exchanging gradients during backward).

    A context manager: inside it, the outermost ``Variable.backward`` calls ``ready(leaf)``
    exactly once for each leaf of ``leaves``, as soon as no node still to be visited can add
    to its gradient (the leaf may have no gradient at all), and ``between()`` after each
    node it visits. Leaves that nothing reached, or reached only through a nested backward
    (e.g. inside a function's own backward), are reported when the walk ends, in the order
    of ``leaves``. Without it backward does no extra work; with it, one walk over the graph
    counts the nodes that use each leaf.
    """

    def __init__(self, leaves, ready, between=None):
        self.leaves = list(leaves)
        self.ready = ready
        self.between = between

    def __enter__(self):
        self._outer, _watch[0] = _watch[0], self
        return self

    def __exit__(self, *exc):
        _watch[0] = self._outer
        return False

    def _start(self, roots):
        """Count, for each watched leaf, the edges from nodes reachable from ``roots``."""
        pending = {id(leaf): 0 for leaf in self.leaves}
        stack = [r.creator for r in roots if r.creator is not None]
        seen = set()
        while stack:
            node = stack.pop()
            if id(node) in seen or node.inputs is None:
                continue
            seen.add(id(node))
            for x in node.inputs:
                if x.creator is not None:
                    stack.append(x.creator)
                elif id(x) in pending:
                    pending[id(x)] += 1
        self._pending = pending

    def _visited(self, node):
        pending = self._pending
        for x in node.inputs:
            key = id(x)
            count = pending.get(key)
            if count is not None and x.creator is None:
                if count <= 1:
                    del pending[key]
                    self.ready(x)
                else:
                    pending[key] = count - 1
        if self.between is not None:
            self.between()

    def _finish(self):
        for leaf in self.leaves:
            if id(leaf) in self._pending:
                del self._pending[id(leaf)]
                self.ready(leaf)


_watch = [None]  # the active watch_grads, if any


def _backward_from(roots, retain_grad, keep=(), watch=None, into=False):
    """The core of backward: visit creators by descending rank and deliver gradients.

    ``roots`` already hold their ``_grad_var``. Gradients of intermediate variables are freed
    after use unless ``retain_grad``; variables in ``keep`` always keep theirs. ``watch``: a
    ``watch_grads`` told when each watched leaf's gradient is final. ``into``: a leaf's
    first gradient goes into its ``_grad_into`` view when it has one (not in ``grad()``,
    which must leave those buffers alone).
    """
    if watch is not None:
        watch._start(roots)
        _backward_walk(roots, retain_grad, keep, watch, into)
        watch._finish()
    else:
        _backward_walk(roots, retain_grad, keep, None, into)


def _written_into(into, gx):
    """The gradient ``gx`` copied into ``into``, or ``gx`` itself when it does not fit."""
    data = gx._data
    if type(data) is not type(into) or data.shape != into.shape or data.dtype != into.dtype:
        return gx
    into[...] = data
    return _leaf(into)


def _backward_walk(roots, retain_grad, keep, watch, into=False):
    type_check = config.type_check
    heap = []
    seen = set()
    counter = 0
    for root in roots:
        node = root.creator
        if node is not None and id(node) not in seen:
            seen.add(id(node))
            heap.append((-node.rank, counter, node))
            counter += 1
    heapq.heapify(heap)
    keep_ids = {id(v) for v in keep}
    while heap:
        node = heapq.heappop(heap)[2]
        inputs = node.inputs
        if inputs is None:
            raise RuntimeError('backward: the graph behind {} was cut by unchain_backward'
                               .format(node.label))
        outputs = [ref() for ref in node.outputs]
        grad_outputs = tuple([None if y is None else y._grad_var for y in outputs])
        if not retain_grad:
            for y in outputs:
                if y is not None and id(y) not in keep_ids:
                    y._grad_var = None
        indexes = tuple([i for i, x in enumerate(inputs) if x.requires_grad])
        if not indexes or all(gy is None for gy in grad_outputs):
            if watch is not None:
                watch._visited(node)
            continue
        gxs = node.backward(indexes, grad_outputs)
        if len(gxs) != len(indexes):
            if len(gxs) == len(inputs):
                gxs = tuple([gxs[i] for i in indexes])
            else:
                raise ValueError('{}.backward: returned {} gradients for {} inputs'.format(
                    node.label, len(gxs), len(indexes)))
        for i, gx in zip(indexes, gxs):
            if gx is None:
                continue
            if not isinstance(gx, Variable):
                gx = _leaf(gx)
            x = inputs[i]
            if type_check:
                xd, gd = x._data, gx._data
                if gd.shape != xd.shape or gd.dtype != xd.dtype:
                    raise ValueError(
                        '{}.backward: the gradient for input {} must have shape {} and dtype {} '
                        'like the input, got shape {} and dtype {}'.format(
                            node.label, i, xd.shape, xd.dtype, gd.shape, gd.dtype))
            old = x._grad_var
            if old is not None:
                x._grad_var = old + gx
            elif into and x._grad_into is not None and gx.creator is None:
                x._grad_var = _written_into(x._grad_into, gx)
            else:
                x._grad_var = gx
            creator = x.creator
            if creator is not None and id(creator) not in seen:
                seen.add(id(creator))
                heapq.heappush(heap, (-creator.rank, counter, creator))
                counter += 1
        if config.debug:
            for gx in gxs:
                if gx is not None and not backend.get_array_module(gx).isfinite(
                        as_array(gx)).all():
                    raise FloatingPointError('{}.backward: NaN or inf in a gradient'
                                             .format(node.label))
        if watch is not None:
            watch._visited(node)


def grad(outputs, inputs, grad_outputs=None, grad_inputs=None, set_grad=False,
         retain_grad=False, enable_double_backprop=False, loss_scale=None):
    """Gradients of ``outputs`` with respect to ``inputs``, without touching their ``grad``.

    Chainer's ``chainer.grad``: returns a list of Variables (None where an input gets no
    gradient). ``grad_outputs`` default to ones for one-element outputs.
    """
    if isinstance(outputs, Variable) or isinstance(inputs, Variable):
        raise TypeError('grad: outputs and inputs must be lists or tuples of Variables')
    outputs, inputs = list(outputs), list(inputs)
    for x in inputs:
        if not isinstance(x, Variable):
            raise TypeError('grad: every input must be a Variable, got {}'.format(_type_name(x)))
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError('grad: grad_outputs must have one entry per output ({}), got {}'
                         .format(len(outputs), len(grad_outputs)))
    # Save every gradient the walk may overwrite and restore it after.
    saved = {}

    def save(v):
        if id(v) not in saved:
            saved[id(v)] = (v, v._grad_var)

    for v in inputs + outputs:
        save(v)
    stack = [y.creator for y in outputs if y.creator is not None]
    visited = set()
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        for x in node.inputs:
            save(x)
            if x.creator is not None:
                stack.append(x.creator)
    input_ids = {id(x) for x in inputs}
    requires = {}
    for v, _ in saved.values():
        v._grad_var = None
        if id(v) in input_ids and not v.requires_grad:
            requires[id(v)] = v
            v.requires_grad = True
    try:
        for i, (y, gy) in enumerate(zip(outputs, grad_outputs)):
            if gy is None:
                if y._data.size != 1:
                    raise ValueError('grad: grad_outputs[{}] is needed for an output of shape {}'
                                     .format(i, y._data.shape))
                gy = y.xp.ones_like(y._data)
                if loss_scale is not None:
                    gy *= loss_scale
            gy = gy if isinstance(gy, Variable) else _leaf(gy)
            # The same variable may appear twice among the outputs: its gradients add up.
            y._grad_var = gy if y._grad_var is None else y._grad_var + gy
        if grad_inputs is not None:
            for x, gx in zip(inputs, grad_inputs):
                if gx is not None:
                    x._grad_var = gx if isinstance(gx, Variable) else _leaf(gx)
        with using_config('enable_backprop', enable_double_backprop):
            _backward_from(outputs, True, keep=outputs)
        result = [x._grad_var for x in inputs]
    finally:
        for v, g in saved.values():
            v._grad_var = g
        for v in requires.values():
            v.requires_grad = False
    if set_grad:
        for x, gx in zip(inputs, result):
            x._grad_var = gx
    return result
