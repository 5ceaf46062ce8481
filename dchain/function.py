"""Chainer's old-style ``Function``: forward and backward both on raw arrays.

New code should write a ``FunctionNode`` (its backward is made of differentiable functions,
so it supports double backprop). ``Function`` is here so that Chainer code written against
the old API ports as it is: ``MyFunction()(x, y)`` runs through a ``FunctionAdapter`` node.
"""
from dchain import backend
from dchain.function_node import FunctionNode
from dchain.utils import force_array, type_check
from dchain.variable import _is_array, _leaf


class FunctionAdapter(FunctionNode):
    """The FunctionNode that runs an old-style ``Function`` in the graph."""

    def __init__(self, function):
        self._function = function

    @property
    def function(self):
        """The wrapped ``Function``."""
        return self._function

    @property
    def label(self):
        return self._function.label

    def check_type_forward(self, inputs):
        in_types = type_check.get_types(inputs, 'in_types')
        try:
            self._function.check_type_forward(in_types)
        except type_check.InvalidType as error:
            raise type_check.InvalidType(
                error.expect, error.actual,
                '{}: invalid inputs\n{}'.format(self.label, error)) from None

    def forward(self, inputs):
        function = self._function
        outputs = function.forward(inputs)
        retained = function._retained_inputs  # forward may have called retain_inputs
        if retained is not None:
            self._input_data = tuple(inputs[i] if i in retained else None
                                     for i in range(len(inputs)))
        else:
            self._input_data = inputs
        if not isinstance(outputs, tuple):
            raise TypeError('{}.forward: must return a tuple of arrays, got {}'.format(
                self.label, type(outputs).__name__))
        outputs = tuple(force_array(y) for y in outputs)
        for i, y in enumerate(outputs):
            if not _is_array(y):
                raise TypeError('{}.forward: output {} must be an array, got {}'.format(
                    self.label, i, type(y).__name__))
        kept = function._retained_outputs
        self._kept_outputs = tuple(y if i in kept else None for i, y in enumerate(outputs))
        return outputs

    def backward(self, indexes, grad_outputs):
        gys = tuple(None if gy is None else gy.data for gy in grad_outputs)
        gxs = self._function.backward(self._input_data, gys)
        if not isinstance(gxs, (tuple, list)):
            raise TypeError('{}.backward: must return a tuple of gradients, got {}'.format(
                self.label, type(gxs).__name__))
        if len(gxs) != len(self.inputs):
            raise ValueError('{}.backward: returned {} gradients for {} inputs'.format(
                self.label, len(gxs), len(self.inputs)))
        return tuple(None if gxs[i] is None else _leaf(force_array(gxs[i])) for i in indexes)


class Function:
    """Base class of old-style differentiable functions.

    A subclass implements ``forward`` (or ``forward_cpu`` and ``forward_gpu``) taking a tuple
    of input arrays and returning a tuple of output arrays, and ``backward`` (or
    ``backward_cpu``/``backward_gpu``) taking the input arrays and the output gradients
    (None for an output that got none) and returning one gradient array (or None) per input.
    ``check_type_forward(in_types)`` may check the inputs with ``dchain.utils.type_check``.

    Calling the function on Variables or arrays returns a Variable (a tuple of them for
    several outputs). Backward is computed on arrays, so the gradient is not itself
    differentiable (no double backprop; write a ``FunctionNode`` for that).
    """

    _retained_inputs = None  # None: every input reaches backward
    _retained_outputs = ()
    _node = None

    def __call__(self, *inputs):
        node = FunctionAdapter(self)
        outputs = node.apply(inputs)
        self._node = node
        return outputs[0] if len(outputs) == 1 else outputs

    @property
    def node(self):
        """The FunctionAdapter of the last call."""
        return self._node

    @property
    def label(self):
        """The name used in messages (the class name)."""
        return type(self).__name__

    @property
    def inputs(self):
        """The input Variables of the last call."""
        return self.node.inputs

    @property
    def outputs(self):
        """Weak references to the output Variables of the last call."""
        return self.node.outputs

    @property
    def output_data(self):
        """The retained output arrays (None for outputs not retained)."""
        node = self.node
        if node is None:
            raise RuntimeError('{}.output_data: the function has not been called'.format(
                self.label))
        return node._kept_outputs

    @property
    def rank(self):
        return self.node.rank

    def check_type_forward(self, in_types):
        """Check the inputs' types with ``type_check.expect`` (nothing by default)."""

    def forward(self, inputs):
        """Outputs as a tuple of arrays; calls ``forward_gpu`` for CuPy inputs, else
        ``forward_cpu``."""
        if any(backend.is_gpu_array(x) for x in inputs):
            return self.forward_gpu(inputs)
        return self.forward_cpu(inputs)

    def forward_cpu(self, inputs):
        raise NotImplementedError('{} implements neither forward nor forward_cpu'.format(
            self.label))

    def forward_gpu(self, inputs):
        raise NotImplementedError('{} implements neither forward nor forward_gpu'.format(
            self.label))

    def backward(self, inputs, grad_outputs):
        """Gradients of the inputs as a tuple of arrays (None where there is none); calls
        ``backward_gpu`` for CuPy inputs, else ``backward_cpu``."""
        if any(backend.is_gpu_array(x) for x in inputs if x is not None):
            return self.backward_gpu(inputs, grad_outputs)
        return self.backward_cpu(inputs, grad_outputs)

    def backward_cpu(self, inputs, grad_outputs):
        return tuple(None for _ in inputs)

    def backward_gpu(self, inputs, grad_outputs):
        return tuple(None for _ in inputs)

    def retain_inputs(self, indexes):
        """Keep only these inputs (by index) for backward; the others reach it as None."""
        self._retained_inputs = tuple(indexes)

    def retain_outputs(self, indexes, retain_after_backward=False):
        """Keep these outputs (by index) for backward, readable as ``self.output_data``."""
        self._retained_outputs = tuple(indexes)

    def unchain(self):
        """Cut the graph at this function's last call."""
        if self.node is not None:
            self.node.unchain()
