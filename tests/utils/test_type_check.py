import numpy
import pytest

from dchain.utils import type_check


def _types(*arrays):
    return type_check.get_types(arrays, 'in_types')


def test_expressions_evaluate_and_print_as_written():
    x, t = _types(numpy.zeros((3, 4), numpy.float32), numpy.zeros(3, numpy.int32))
    condition = x.shape[0] == t.shape[0]
    assert str(condition) == 'in_types[0].shape[0] == in_types[1].shape[0]'
    type_check.expect(condition, x.dtype.kind == 'f', t.dtype == numpy.int32, x.ndim == 2,
                      x.shape[1] * 2 == 8, x.size == 12, -x.shape[0] < 0,
                      x.shape[1:] == (4,))
    assert type_check.eval(x.shape[1] + 1) == 5
    assert type_check.eval(type_check.prod([x.shape[0], x.shape[1]])) == 12


@pytest.mark.parametrize('make, expect, actual', [
    (lambda x, t: x.ndim == 3, 'in_types[0].ndim == 3', '2 != 3'),
    (lambda x, t: x.shape[0] >= t.shape[0] + 2, 'in_types[0].shape[0] >= in_types[1].shape[0] + 2',
     '3 < 5'),
    (lambda x, t: t.dtype.kind == 'f', "in_types[1].dtype.kind == 'f'", "'i' != 'f'"),
])
def test_a_false_condition_raises_invalid_type(make, expect, actual):
    x, t = _types(numpy.zeros((3, 4), numpy.float32), numpy.zeros(3, numpy.int32))
    with pytest.raises(type_check.InvalidType) as info:
        type_check.expect(make(x, t))
    assert info.value.expect == expect
    assert info.value.actual == actual
    assert isinstance(info.value, TypeError)


def test_size_and_argname():
    in_types = _types(numpy.zeros(2), numpy.zeros(2))
    with pytest.raises(type_check.InvalidType, match=r'in_types.size == 3'):
        type_check.expect(in_types.size() == 3)
    type_check.argname(in_types, ('x', 'W'))
    with pytest.raises(type_check.InvalidType, match=r'Expect: W.ndim == 2'):
        type_check.expect(in_types[1].ndim == 2)


def test_expressions_are_not_booleans():
    x, = _types(numpy.zeros(2))
    with pytest.raises(RuntimeError, match='pass each condition to type_check.expect'):
        if x.ndim == 1:
            pass
    with pytest.raises(type_check.InvalidType):
        type_check.expect(False)
    type_check.expect(True)


def test_a_chainer_function_node_checks_its_inputs_with_type_check():
    import dchain

    class Twice(dchain.FunctionNode):
        def check_type_forward(self, in_types):
            type_check.expect(in_types.size() == 1)
            x_type, = in_types
            type_check.expect(x_type.dtype.kind == 'f', x_type.ndim == 2)

        def forward(self, inputs):
            return inputs[0] * 2,

        def backward(self, indexes, grad_outputs):
            return grad_outputs[0] * 2,

    y = Twice().apply((numpy.ones((2, 3), numpy.float32),))[0]
    assert (y.array == 2).all()
    with pytest.raises(type_check.InvalidType):
        Twice().apply((numpy.ones(3, numpy.float32),))
    with pytest.raises(type_check.InvalidType):
        Twice().apply((numpy.ones((2, 3), numpy.float32), numpy.ones(3, numpy.float32)))
