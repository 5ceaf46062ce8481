"""Chainer's ``chainer.utils.type_check``: declarative checks of a function's inputs.

An old-style ``dchain.Function`` receives its inputs' types in ``check_type_forward(self,
in_types)``: ``in_types`` is a tuple of expressions, one per input, whose ``shape``, ``dtype``,
``ndim`` and ``size`` build further expressions. Comparisons build conditions that ``expect``
evaluates; a false one raises ``InvalidType`` quoting the condition and the values it saw::

    def check_type_forward(self, in_types):
        type_check.expect(in_types.size() == 2)
        x_type, t_type = in_types
        type_check.expect(x_type.dtype.kind == 'f', t_type.dtype == numpy.int32,
                          x_type.shape[0] == t_type.shape[0])

Conditions are expressions, not booleans: combine them by passing several to ``expect``, not
with ``and``/``or``/``if`` (that raises a RuntimeError saying so).
"""
import operator

import numpy


class InvalidType(TypeError):
    """A condition of ``expect`` that did not hold.

    Attributes:
        expect (str): the condition, as written.
        actual (str): the values it was evaluated on.
    """

    def __init__(self, expect, actual, msg=None):
        if msg is None:
            msg = 'Expect: {}\nActual: {}'.format(expect, actual)
        super().__init__(msg)
        self.expect = expect
        self.actual = actual

    def __reduce__(self):
        return type(self), (self.expect, self.actual, str(self))


def _value(x):
    return x.eval() if isinstance(x, Expr) else x


def _text(x):
    if isinstance(x, Expr):
        return str(x)
    if isinstance(x, type):
        return x.__module__ + '.' + x.__name__ if x.__module__ != 'builtins' else x.__name__
    if isinstance(x, numpy.dtype):
        return 'numpy.' + x.name
    return repr(x)


# (symbol, function, the symbol of the negated comparison)
_COMPARISONS = {
    '==': (operator.eq, '!='), '!=': (operator.ne, '=='), '<': (operator.lt, '>='),
    '<=': (operator.le, '>'), '>': (operator.gt, '<='), '>=': (operator.ge, '<'),
}


def _binary(symbol, function):
    def method(self, other):
        return BinaryOperator(symbol, function, self, other)

    def reflected(self, other):
        return BinaryOperator(symbol, function, other, self)
    return method, reflected


def _comparison(symbol):
    def method(self, other):
        return Condition(symbol, self, other)
    return method


class Expr:
    """An expression over the inputs' types, evaluated by ``eval()``."""

    __hash__ = object.__hash__

    def eval(self):
        """The value of this expression."""
        raise NotImplementedError

    def __bool__(self):
        raise RuntimeError(
            'type_check: an expression ({}) cannot be used as a bool; pass each condition to '
            'type_check.expect instead of combining them with and/or/not/if'.format(self))

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return GetAttr(self, name)

    def __getitem__(self, key):
        return GetItem(self, key)

    def __call__(self, *args):
        return Call(self, args)

    __add__, __radd__ = _binary('+', operator.add)
    __sub__, __rsub__ = _binary('-', operator.sub)
    __mul__, __rmul__ = _binary('*', operator.mul)
    __truediv__, __rtruediv__ = _binary('/', operator.truediv)
    __floordiv__, __rfloordiv__ = _binary('//', operator.floordiv)
    __mod__, __rmod__ = _binary('%', operator.mod)
    __pow__, __rpow__ = _binary('**', operator.pow)
    __eq__ = _comparison('==')
    __ne__ = _comparison('!=')
    __lt__ = _comparison('<')
    __le__ = _comparison('<=')
    __gt__ = _comparison('>')
    __ge__ = _comparison('>=')

    def __neg__(self):
        return UnaryOperator('-', operator.neg, self)


class Constant(Expr):
    """A fixed value (shown by ``name`` when given)."""

    def __init__(self, value, name=None):
        object.__setattr__(self, 'value', value)
        object.__setattr__(self, 'name', name)

    def eval(self):
        return self.value

    def __str__(self):
        return self.name if self.name is not None else _text(self.value)


class Variable(Constant):
    """A named value, such as ``in_types[0]`` (whose value is a ``TypeInfo``)."""

    def __init__(self, value, name):
        super().__init__(value, name)


class GetAttr(Expr):
    """``obj.name``."""

    def __init__(self, obj, name):
        object.__setattr__(self, 'obj', obj)
        object.__setattr__(self, 'name', name)

    def eval(self):
        return getattr(_value(self.obj), _value(self.name))

    def __str__(self):
        return '{}.{}'.format(self.obj, self.name)


class GetItem(Expr):
    """``obj[key]``."""

    def __init__(self, obj, key):
        object.__setattr__(self, 'obj', obj)
        object.__setattr__(self, 'key', key)

    def eval(self):
        return _value(self.obj)[_value(self.key)]

    def __str__(self):
        key = self.key
        if isinstance(key, slice):
            key = ':'.join('' if v is None else _text(v) for v in (key.start, key.stop, key.step))
            key = key[:-1] if key.endswith(':') and key.count(':') == 2 else key
        else:
            key = _text(key)
        return '{}[{}]'.format(self.obj, key)


class Call(Expr):
    """``function(*args)``."""

    def __init__(self, function, args):
        object.__setattr__(self, 'function', function)
        object.__setattr__(self, 'args', args)

    def eval(self):
        return _value(self.function)(*[_value(a) for a in self.args])

    def __str__(self):
        return '{}({})'.format(self.function, ', '.join(_text(a) for a in self.args))


class UnaryOperator(Expr):
    """``symbol operand``."""

    def __init__(self, symbol, function, operand):
        object.__setattr__(self, 'symbol', symbol)
        object.__setattr__(self, 'function', function)
        object.__setattr__(self, 'operand', operand)

    def eval(self):
        return self.function(_value(self.operand))

    def __str__(self):
        return '{}({})'.format(self.symbol, _text(self.operand))


class BinaryOperator(Expr):
    """``lhs symbol rhs``."""

    def __init__(self, symbol, function, lhs, rhs):
        object.__setattr__(self, 'symbol', symbol)
        object.__setattr__(self, 'function', function)
        object.__setattr__(self, 'lhs', lhs)
        object.__setattr__(self, 'rhs', rhs)

    def eval(self):
        return self.function(_value(self.lhs), _value(self.rhs))

    def __str__(self):
        def operand(x):
            text = _text(x)
            return '({})'.format(text) if isinstance(x, BinaryOperator) else text
        return '{} {} {}'.format(operand(self.lhs), self.symbol, operand(self.rhs))


class Condition(BinaryOperator):
    """A comparison; ``expect`` raises ``InvalidType`` when it is false."""

    def __init__(self, symbol, lhs, rhs):
        super().__init__(symbol, _COMPARISONS[symbol][0], lhs, rhs)

    def __str__(self):  # a comparison binds looser than arithmetic: no parentheses needed
        return '{} {} {}'.format(_text(self.lhs), self.symbol, _text(self.rhs))

    def expect(self):
        lhs, rhs = _value(self.lhs), _value(self.rhs)
        if not self.function(lhs, rhs):
            raise InvalidType(str(self), '{} {} {}'.format(
                _text(lhs), _COMPARISONS[self.symbol][1], _text(rhs)))


class TypeInfo:
    """The type of one input: ``shape``, ``dtype``, ``ndim`` and ``size``."""

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype
        self.ndim = len(shape)

    @property
    def size(self):
        size = 1
        for n in self.shape:
            size *= n
        return size


class TypeInfoTuple(tuple):
    """The types of all inputs; ``size()`` is an expression of their number."""

    name = 'in_types'

    def size(self):
        return Variable(len(self), '{}.size'.format(self.name))


def get_types(data, name, accept_none=False):
    """``TypeInfoTuple`` of expressions ``name[i]`` over the arrays in ``data``."""
    types = []
    for i, array in enumerate(data):
        label = '{}[{}]'.format(name, i)
        if array is None:
            if not accept_none:
                raise InvalidType('{} is an array'.format(label), 'None')
            types.append(Variable(TypeInfo((), None), label))
        else:
            types.append(Variable(TypeInfo(array.shape, array.dtype), label))
    result = TypeInfoTuple(types)
    result.name = name
    return result


def argname(in_types, names):
    """Give the inputs readable names in messages (``x`` instead of ``in_types[0]``)."""
    if len(in_types) != len(names):
        raise ValueError('type_check.argname: {} names for {} inputs'.format(
            len(names), len(in_types)))
    for in_type, name in zip(in_types, names):
        if isinstance(in_type, Variable):
            object.__setattr__(in_type, 'name', name)


def expect(*bool_exprs):
    """Check each condition; raise ``InvalidType`` (a TypeError) at the first false one.

    Conditions are comparisons of expressions (see the module docstring) or plain booleans.
    """
    for condition in bool_exprs:
        if isinstance(condition, Condition):
            condition.expect()
        elif isinstance(condition, Expr):
            if not condition.eval():
                raise InvalidType(str(condition), 'False')
        elif not condition:
            raise InvalidType('a condition that is true', repr(condition))


def eval(expression):  # noqa: A001  (Chainer's name)
    """The value of an expression (other values as they are)."""
    return _value(expression)


def make_variable(value, name):
    """An expression named ``name`` with value ``value``."""
    return Variable(value, name)


def prod(values):
    """The product of ``values`` (an expression when any of them is one)."""
    result = 1
    for v in values:
        result = result * v
    return result


def same_types(*arrays):
    """True when the arrays are all NumPy arrays or all CuPy arrays."""
    from dchain import backend
    kinds = {backend.is_gpu_array(a) for a in arrays}
    return len(kinds) <= 1
