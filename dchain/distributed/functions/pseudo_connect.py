"""pseudo_connect: join a delegate variable to the graph of other variables (ChainerMN's)."""
import numpy

from dchain import backend
from dchain.function_node import FunctionNode
from dchain.variable import Variable


class PseudoConnect(FunctionNode):
    """Returns its inputs but the first unchanged; backward also reaches the first (the
    delegate), with a zero gradient, so the communication behind it runs."""

    def forward(self, inputs):
        return tuple(inputs[1:])

    def backward(self, indexes, grad_outputs):
        delegate = self.inputs[0]
        return (backend.get_array_module(delegate).zeros_like(delegate.array),) + \
            tuple(grad_outputs)


def pseudo_connect(delegate_variable, *actual_variables):
    """The ``actual_variables`` (same values), connected in the graph to ``delegate_variable``.

    A rank that sends a result with ``send`` and goes on computing something else has two
    unconnected graphs; backward from the second would never run the send's backward, and
    the peer would wait for its gradient forever. ``pseudo_connect`` joins them: backward
    from the returned variables also runs the backward behind the delegate variable.

    Args:
        delegate_variable (Variable): e.g. the delegate variable ``send`` returned; None for
            none (an empty one is made).
        actual_variables (Variables or arrays): the values to pass on.

    Returns:
        tuple of Variables: one per actual variable, with the same arrays.
    """
    if not actual_variables:
        raise ValueError('pseudo_connect: give at least one actual variable')
    if delegate_variable is None:
        xp = backend.get_array_module(*actual_variables)
        delegate_variable = Variable(xp.zeros((0,), numpy.float32))
    elif not isinstance(delegate_variable, Variable):
        raise TypeError('pseudo_connect: delegate_variable must be a Variable or None, got {}'
                        .format(type(delegate_variable).__name__))
    return PseudoConnect().apply((delegate_variable,) + tuple(actual_variables))
