"""The old-style Function API: forward and backward on arrays, checked by type_check."""
import numpy
import pytest

import dchain
import dchain.functions as F
from dchain.testing import assert_allclose, check_backward
from dchain.utils import type_check


class Scale(dchain.Function):
    """y = a * x and z = x ** 2, as an old-style function with two outputs."""

    def __init__(self, a):
        self.a = a

    def check_type_forward(self, in_types):
        type_check.expect(in_types.size() == 1)
        x_type, = in_types
        type_check.expect(x_type.dtype.kind == 'f', x_type.ndim >= 1)

    def forward(self, inputs):
        x, = inputs
        return self.a * x, x * x

    def backward(self, inputs, grad_outputs):
        x, = inputs
        gy, gz = grad_outputs
        gx = numpy.zeros_like(x)
        if gy is not None:
            gx += self.a * gy
        if gz is not None:
            gx += 2 * x * gz
        return gx,


class CpuGpu(dchain.Function):
    """forward_cpu / backward_cpu instead of forward / backward; keeps only input 1."""

    def forward_cpu(self, inputs):
        self.retain_inputs((1,))
        x, w = inputs
        return x * w,

    def backward_cpu(self, inputs, grad_outputs):
        x, w = inputs
        self.seen = x
        return None, None


def test_forward_and_backward_match_numpy(xp):
    x = xp.asarray(numpy.random.default_rng(0).standard_normal((3, 4)), dtype=numpy.float32)
    v = dchain.Variable(x)
    y, z = Scale(3.0)(v)
    assert_allclose(y.array, 3 * x)
    assert_allclose(z.array, x * x)
    loss = F.sum(y) + F.sum(z)
    loss.backward()
    assert_allclose(v.grad, 3 + 2 * x)


def test_check_backward():
    x = numpy.random.default_rng(1).standard_normal((2, 3))
    gy = numpy.random.default_rng(2).standard_normal((2, 3))
    gz = numpy.random.default_rng(3).standard_normal((2, 3))
    check_backward(Scale(-0.5), x, (gy, gz))


def test_an_output_without_gradient_reaches_backward_as_none():
    v = dchain.Variable(numpy.ones((2,), numpy.float32))
    y, _ = Scale(2.0)(v)
    F.sum(y).backward()
    assert_allclose(v.grad, [2, 2])


def test_one_output_is_a_variable_and_a_bad_type_is_refused():
    class Double(dchain.Function):
        def check_type_forward(self, in_types):
            type_check.expect(in_types[0].dtype == numpy.float32)

        def forward(self, inputs):
            return inputs[0] * 2,
    y = Double()(numpy.ones(2, numpy.float32))
    assert isinstance(y, dchain.Variable)
    with pytest.raises(type_check.InvalidType) as info:
        Double()(numpy.ones(2, numpy.float64))
    message = str(info.value)
    assert 'Double: invalid inputs' in message
    assert 'in_types[0].dtype == numpy.float32' in message
    assert 'float64 != numpy.float32' in message


def test_retain_inputs_and_forward_cpu():
    f = CpuGpu()
    x = dchain.Variable(numpy.ones(2, numpy.float32))
    w = dchain.Variable(numpy.full(2, 3, numpy.float32))
    y = f(x, w)
    assert_allclose(y.array, [3, 3])
    F.sum(y).backward()
    assert f.seen is None  # input 0 was not retained
    assert x.grad is None and w.grad is None
    assert f.inputs[0] is x and f.node.label == 'CpuGpu'


def test_output_data_holds_retained_outputs():
    class Exp(dchain.Function):
        def forward(self, inputs):
            self.retain_outputs((0,))
            return numpy.exp(inputs[0]),

        def backward(self, inputs, grad_outputs):
            return self.output_data[0] * grad_outputs[0],
    check_backward(Exp(), numpy.array([0.5, -1.0]), numpy.array([1.0, 2.0]))


def test_bad_forward_and_backward_results_are_refused():
    class NoTuple(dchain.Function):
        def forward(self, inputs):
            return inputs[0]

    class TooMany(dchain.Function):
        def forward(self, inputs):
            return inputs[0] + 1,

        def backward(self, inputs, grad_outputs):
            return grad_outputs[0], grad_outputs[0]
    with pytest.raises(TypeError, match='NoTuple.forward: must return a tuple'):
        NoTuple()(numpy.ones(2))
    x = dchain.Variable(numpy.ones(2))
    y = TooMany()(x)
    with pytest.raises(ValueError, match='TooMany.backward: returned 2 gradients for 1 inputs'):
        F.sum(y).backward()


def test_missing_forward_is_reported():
    with pytest.raises(NotImplementedError, match='neither forward nor forward_cpu'):
        dchain.Function()(numpy.ones(2))
