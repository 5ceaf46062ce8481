"""exp, log, sqrt, square and their relatives."""
from dchain import backend
from dchain.function_node import FunctionNode
from dchain.utils import force_array


def _check_float(label, x):
    if x.dtype.kind != 'f':
        raise TypeError('{}: x must be a float array, got {}'.format(label, x.dtype))


class Exp(FunctionNode):
    label = 'exp'

    def check_type_forward(self, inputs):
        _check_float('exp', inputs[0])

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        self.retain_outputs((0,))
        return force_array(xp.exp(inputs[0])),

    def backward(self, indexes, grad_outputs):
        y, = self.get_retained_outputs()
        return grad_outputs[0] * y,


class Log(FunctionNode):
    label = 'log'

    def check_type_forward(self, inputs):
        _check_float('log', inputs[0])

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        self.retain_inputs((0,))
        return force_array(xp.log(inputs[0])),

    def backward(self, indexes, grad_outputs):
        x, = self.inputs
        return grad_outputs[0] / x,


class Sqrt(FunctionNode):
    label = 'sqrt'

    def check_type_forward(self, inputs):
        _check_float('sqrt', inputs[0])

    def forward(self, inputs):
        xp = backend.get_array_module(*inputs)
        self.retain_outputs((0,))
        return force_array(xp.sqrt(inputs[0])),

    def backward(self, indexes, grad_outputs):
        y, = self.get_retained_outputs()
        return grad_outputs[0] / (y * 2),


def exp(x):
    """Elementwise ``e ** x``."""
    return Exp().apply((x,))[0]


def log(x):
    """Elementwise natural logarithm."""
    return Log().apply((x,))[0]


def sqrt(x):
    """Elementwise square root."""
    return Sqrt().apply((x,))[0]


def rsqrt(x):
    """Elementwise ``1 / sqrt(x)``."""
    return 1.0 / sqrt(x)


def square(x):
    """Elementwise ``x ** 2``."""
    from dchain.functions.math.basic_math import PowConst
    return PowConst(2).apply((x,))[0]
