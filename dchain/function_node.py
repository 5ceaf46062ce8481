"""FunctionNode: one differentiable operation in the graph.

A subclass writes ``forward(self, inputs)`` on raw arrays (returning a tuple) and
``backward(self, indexes, grad_outputs)`` on Variables (returning the gradients of the inputs
in ``indexes``), ideally with dchain functions so that double backprop works. It declares which
inputs and outputs backward needs with ``retain_inputs``/``retain_outputs``, and may check its
inputs in ``check_type_forward(self, inputs)`` (called only while ``config.type_check``; a node
defined outside dchain gets the arrays in a tuple that also has Chainer's ``in_types.size()``).

``apply`` is the hot path of every op: it stays short and allocates only the output variables.
"""
import weakref

from dchain import backend
from dchain.config import config
from dchain.variable import Variable, _is_array, _leaf as _constant, _type_name


class FunctionNode:
    """Base class of every differentiable operation."""

    rank = 0
    inputs = None
    outputs = None
    _retained_inputs = ()
    _retained_outputs = ()
    _output_data = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        check = cls.__dict__.get('check_type_forward')
        if check is not None and not cls.__module__.startswith('dchain.'):
            # A node written for Chainer may call in_types.size(): give it the arrays in a
            # tuple that has it (dchain's own nodes keep the plain tuple of the hot path).
            def check_type_forward(self, inputs):
                return check(self, _InData(inputs))
            check_type_forward.__doc__ = check.__doc__
            cls.check_type_forward = check_type_forward

    @property
    def label(self):
        """The name used in error messages (the class name)."""
        return type(self).__name__

    def check_type_forward(self, inputs):
        """Refuse bad inputs with a TypeError/ValueError; ``inputs`` are raw arrays."""

    def forward(self, inputs):
        raise NotImplementedError('{} does not implement forward'.format(self.label))

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError('{} does not implement backward'.format(self.label))

    def apply(self, inputs):
        """Run forward on ``inputs`` (Variables or arrays) and return a tuple of Variables."""
        xs = [x if isinstance(x, Variable) else _wrap(self, x) for x in inputs]
        in_data = tuple([x._data for x in xs])
        if config.type_check:
            if backend._cupy is not None:
                _check_same_backend(self.label, in_data)
            self.check_type_forward(in_data)
        outputs = self.forward(in_data)
        if config.enable_backprop:
            rank = -1
            for x in xs:
                if x.requires_grad and x.rank > rank:
                    rank = x.rank
            if rank >= 0:
                # Some input needs a gradient: record this node as the outputs' creator.
                for x in xs:
                    if x.rank > rank:
                        rank = x.rank
                self.rank = rank
                self.inputs = xs
                ys = tuple([_output(y, self, rank + 1) for y in outputs])
                self.outputs = tuple([weakref.ref(y) for y in ys])
                if self._retained_outputs:
                    self._output_data = outputs
                return ys
        return tuple([_constant(y) for y in outputs])

    def retain_inputs(self, indexes):
        """Declare the inputs (by index) that backward reads with get_retained_inputs."""
        self._retained_inputs = indexes

    def retain_outputs(self, indexes):
        """Declare the outputs (by index) that backward reads with get_retained_outputs."""
        self._retained_outputs = indexes

    def get_retained_inputs(self):
        """The retained inputs as Variables, in the order given to retain_inputs."""
        inputs = self.inputs
        return tuple([inputs[i] for i in self._retained_inputs])

    def get_retained_outputs(self):
        """The retained outputs as Variables (a new leaf when the output itself is gone)."""
        result = []
        for i in self._retained_outputs:
            y = self.outputs[i]()
            if y is None:
                # The output variable was freed but its data is kept for backward; rebuild a
                # handle that is still connected to this node for double backprop.
                y = _output(self._output_data[i], self, self.rank + 1)
                refs = list(self.outputs)
                refs[i] = weakref.ref(y)
                self.outputs = tuple(refs)
            result.append(y)
        return tuple(result)

    def unchain(self):
        """Drop this node's references to its inputs and outputs."""
        for ref in self.outputs or ():
            y = ref()
            if y is not None:
                y.creator = None
        self.inputs = None


class _InData(tuple):
    """The input arrays with ``size()`` as on Chainer's ``in_types``, so that a Chainer
    ``check_type_forward`` written with ``type_check.expect(in_types.size() == 2, x.ndim == 2)``
    runs on the arrays themselves (its conditions are then plain booleans)."""

    __slots__ = ()

    def size(self):
        return len(self)


def _wrap(node, x):
    if not _is_array(x):
        raise TypeError('{}: inputs must be Variables or arrays, got {}'.format(
            node.label, _type_name(x)))
    return _constant(x)


def _output(array, node, rank):
    v = Variable.__new__(Variable)
    v._data = array
    v._grad_var = None
    v.creator = node
    v.rank = rank
    v.requires_grad = True
    v.name = None
    return v


def _check_same_backend(label, in_data):
    gpu = [backend.is_gpu_array(a) for a in in_data]
    if any(gpu) and not all(gpu):
        raise TypeError('{}: inputs mix numpy and cupy arrays (input kinds: {}); move them to one '
                        'device first'.format(label, ', '.join('cupy' if g else 'numpy'
                                                               for g in gpu)))


def check_dtype(label, argument, array, kinds, expected):
    """Refuse ``array`` unless its dtype kind is in ``kinds`` (e.g. 'f' for floats).

    ``expected`` is the wording for the message (e.g. 'a float array').
    """
    if array.dtype.kind not in kinds:
        raise TypeError('{}: {} must be {}, got {}'.format(label, argument, expected, array.dtype))


def check_same_dtype(label, arrays, names):
    """Refuse arrays whose dtypes differ (no silent casts)."""
    first = arrays[0].dtype
    for array, name in zip(arrays[1:], names[1:]):
        if array.dtype != first:
            raise TypeError('{}: {} and {} must have the same dtype, got {} and {}'.format(
                label, names[0], name, first, array.dtype))
