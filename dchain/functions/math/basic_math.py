"""Arithmetic: the operators of Variable (+ - * / ** @, unary -) with NumPy broadcasting.

Two Variables must have the same dtype. A Python or NumPy scalar, or an array, combined with a
Variable by an operator takes the variable's dtype, as in Chainer (``Variable(float32) +
float64 array`` is float32); a non-integer float scalar or array with an integer variable is
refused rather than silently truncated.
"""
import numpy

from dchain.function_node import FunctionNode
from dchain.functions.array.broadcast import sum_to
from dchain.functions.array.get_item import get_item
from dchain.utils import force_array
from dchain.variable import Variable, _is_array, _type_name


def _check_binary(label, inputs):
    a, b = inputs
    if a.dtype != b.dtype:
        raise TypeError('{}: both operands must have the same dtype, got {} and {}'.format(
            label, a.dtype, b.dtype))


def _broadcast_error(label, a, b):
    return ValueError('{}: operands of shapes {} and {} cannot be broadcast together'.format(
        label, a.shape, b.shape))


class _Binary(FunctionNode):
    """Shared shape bookkeeping: gradients sum back to each input's shape."""

    label_name = None

    @property
    def label(self):
        return self.label_name

    def check_type_forward(self, inputs):
        _check_binary(self.label_name, inputs)

    def forward(self, inputs):
        a, b = inputs
        self._shapes = (a.shape, b.shape)
        try:
            y = self._compute(a, b)
        except ValueError:
            raise _broadcast_error(self.label_name, a, b) from None
        return force_array(y),

    def _reduce(self, i, g):
        shape = self._shapes[i]
        return g if g.shape == shape else sum_to(g, shape)


class Add(_Binary):
    label_name = 'add'

    def _compute(self, a, b):
        return a + b

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        return tuple([self._reduce(i, gy) for i in indexes])


class MultiAdd(FunctionNode):
    """The sum of three or more terms with broadcasting, as one node."""

    label = 'add'

    def check_type_forward(self, inputs):
        for i, x in enumerate(inputs[1:], 1):
            if x.dtype != inputs[0].dtype:
                raise TypeError('add: every term must have the same dtype, got {} (term 0) and '
                                '{} (term {})'.format(inputs[0].dtype, x.dtype, i))

    def forward(self, inputs):
        self._shapes = [x.shape for x in inputs]
        try:
            shape = numpy.broadcast_shapes(*self._shapes)
        except ValueError:
            raise ValueError('add: terms of shapes {} cannot be broadcast together'.format(
                ', '.join(str(shape) for shape in self._shapes))) from None
        y = inputs[0] + inputs[1]
        for x in inputs[2:]:
            if y.shape == shape:
                y += x
            else:
                y = y + x
        return force_array(y),

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        return tuple([gy if gy.shape == self._shapes[i] else sum_to(gy, self._shapes[i])
                      for i in indexes])


class Sub(_Binary):
    label_name = 'sub'

    def _compute(self, a, b):
        return a - b

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        return tuple([self._reduce(i, gy if i == 0 else -gy) for i in indexes])


class Mul(_Binary):
    label_name = 'mul'

    _retained_inputs = (0, 1)

    def _compute(self, a, b):
        return a * b

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        a, b = self.inputs
        return tuple([self._reduce(i, gy * (b if i == 0 else a)) for i in indexes])


class Div(_Binary):
    label_name = 'div'

    _retained_inputs = (0, 1)

    def _compute(self, a, b):
        return a / b

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        a, b = self.inputs
        ga = gy / b
        result = []
        for i in indexes:
            result.append(self._reduce(0, ga) if i == 0 else self._reduce(1, -ga * a / b))
        return tuple(result)


class Pow(_Binary):
    label_name = 'pow'

    _retained_inputs = (0, 1)

    def _compute(self, a, b):
        return a ** b

    def backward(self, indexes, grad_outputs):
        from dchain.functions.math.exponential import log
        gy, = grad_outputs
        a, b = self.inputs
        result = []
        for i in indexes:
            if i == 0:
                result.append(self._reduce(0, gy * b * a ** (b - 1)))
            else:
                result.append(self._reduce(1, gy * log(a) * a ** b))
        return tuple(result)


class PowConst(FunctionNode):
    """x ** c for a scalar constant c (the common case: one retained input)."""

    label = 'pow'

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, inputs):
        x, = inputs
        self.retain_inputs((0,))
        return force_array(x ** self.exponent, x.dtype),

    def backward(self, indexes, grad_outputs):
        x, = self.inputs
        c = self.exponent
        if c == 2:
            return grad_outputs[0] * (x * 2),
        return grad_outputs[0] * (x ** (c - 1) * c),


class Neg(FunctionNode):
    label = 'neg'

    def forward(self, inputs):
        return force_array(-inputs[0]),

    def backward(self, indexes, grad_outputs):
        return -grad_outputs[0],


def _operand(label, x, like):
    """Turn the other operand of an operator into something apply accepts."""
    if isinstance(x, Variable):
        return x
    if _is_array(x):
        dtype = like.dtype
        if x.dtype == dtype:
            return x
        if dtype.kind in 'iub' and x.dtype.kind not in 'iub':
            xp = like.xp
            if not bool(xp.all(xp.trunc(x) == x)):
                raise TypeError('{}: cannot combine a {} variable with a {} array holding '
                                'non-integer values; cast the variable first'.format(
                                    label, dtype, x.dtype))
        return x.astype(dtype)
    if isinstance(x, (bool, int, float, numpy.number)):
        dtype = like.dtype
        if dtype.kind in 'iub' and not float(x).is_integer():
            raise TypeError('{}: cannot combine a {} variable with the non-integer constant {}; '
                            'cast the variable first'.format(label, dtype, x))
        return like.xp.asarray(x, dtype=dtype)
    raise TypeError('{}: unsupported operand type {}'.format(label, _type_name(x)))


def add(*xs):
    """Elementwise sum of the terms ``xs`` (two or more) with NumPy broadcasting.

    Args:
        xs: Variables or arrays of one float or integer dtype, with shapes that broadcast
            together; a Python or NumPy scalar term takes the dtype of the first array term.
    Returns:
        A Variable of the broadcast shape, ``xs[0] + xs[1] + ...``.
    """
    if len(xs) < 2:
        raise TypeError('add: expected at least two terms, got {}'.format(len(xs)))
    like = next((x for x in xs if isinstance(x, Variable) or _is_array(x)), None)
    if like is None:
        raise TypeError('add: at least one term must be a Variable or an array, got {}'.format(
            ', '.join(_type_name(x) for x in xs)))
    if not isinstance(like, Variable):
        like = Variable(like, requires_grad=False)
    if len(xs) > 2:
        # As in Chainer, only the two-term form casts an array to the first term's dtype.
        typed = [(i, x.dtype) for i, x in enumerate(xs) if isinstance(x, Variable) or _is_array(x)]
        for index, dtype in typed:
            if dtype != typed[0][1]:
                raise TypeError('add: every term must have the same dtype, got {} (term {}) and '
                                '{} (term {})'.format(typed[0][1], typed[0][0], dtype, index))
    xs = [_operand('add', x, like) for x in xs]
    if len(xs) == 2:
        return Add().apply(xs)[0]
    return MultiAdd().apply(xs)[0]


def sub(a, b):
    """Elementwise ``a - b`` with broadcasting."""
    return Sub().apply((a, b))[0]


def mul(a, b):
    """Elementwise ``a * b`` with broadcasting."""
    return Mul().apply((a, b))[0]


def div(a, b):
    """Elementwise ``a / b`` with broadcasting."""
    return Div().apply((a, b))[0]


def neg(x):
    """Elementwise ``-x``."""
    return Neg().apply((x,))[0]


def _pow(x, c):
    if isinstance(c, (int, float, numpy.number)) and not isinstance(c, bool):
        return PowConst(c).apply((x,))[0]
    return Pow().apply((x, _operand('pow', c, x)))[0]


def _rpow(x, c):
    return Pow().apply((_operand('pow', c, x), x))[0]


def _install_operators():
    """Attach the arithmetic operators to Variable."""
    def binary(cls, reverse=False):
        label = cls.label_name

        def op(self, other):
            other = _operand(label, other, self)
            return cls().apply((other, self) if reverse else (self, other))[0]
        return op

    def matmul_op(reverse):
        def op(self, other):
            if not isinstance(other, Variable) and not _is_array(other):
                return NotImplemented
            return matmul(other, self) if reverse else matmul(self, other)
        return op

    Variable.__add__ = binary(Add)
    Variable.__radd__ = binary(Add, True)
    Variable.__sub__ = binary(Sub)
    Variable.__rsub__ = binary(Sub, True)
    Variable.__mul__ = binary(Mul)
    Variable.__rmul__ = binary(Mul, True)
    Variable.__truediv__ = binary(Div)
    Variable.__rtruediv__ = binary(Div, True)
    Variable.__pow__ = _pow
    Variable.__rpow__ = _rpow
    Variable.__neg__ = neg
    Variable.__pos__ = lambda self: self
    Variable.__matmul__ = matmul_op(False)
    Variable.__rmatmul__ = matmul_op(True)
    Variable.__getitem__ = get_item
    Variable.__abs__ = absolute


class Absolute(FunctionNode):
    label = 'absolute'

    def forward(self, inputs):
        x, = inputs
        self.retain_inputs((0,))
        return force_array(abs(x)),

    def backward(self, indexes, grad_outputs):
        x, = self.inputs
        xp = x.xp
        return grad_outputs[0] * xp.sign(x.data).astype(x.dtype, copy=False),


def absolute(x):
    """Elementwise ``|x|`` (gradient ``sign(x)``, 0 at 0)."""
    return Absolute().apply((x,))[0]


from dchain.functions.math.matmul import matmul  # noqa: E402  (matmul uses sum_to too)

_install_operators()
