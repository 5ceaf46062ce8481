"""identity: new Variables holding the same arrays, connected to the inputs in the graph."""
from dchain.function_node import FunctionNode


class Identity(FunctionNode):
    label = 'identity'

    def forward(self, inputs):
        return tuple(inputs)

    def backward(self, indexes, grad_outputs):
        return tuple(grad_outputs[i] for i in indexes)


def identity(*inputs):
    """Return the inputs as new Variables on the graph, unchanged (Chainer's ``F.identity``).

    Args:
        inputs: Variables or arrays, any shapes and dtypes.
    Returns:
        One Variable for one input, else a tuple of Variables; each holds its input's array,
        and gradients flow through unchanged.
    """
    if not inputs:
        raise TypeError('identity: expected at least one input, got none')
    outputs = Identity().apply(inputs)
    return outputs[0] if len(outputs) == 1 else outputs
