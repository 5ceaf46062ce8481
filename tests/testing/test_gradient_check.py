import numpy
import pytest

import dchain
import dchain.functions as F
from dchain import FunctionNode
from dchain.testing import check_backward, check_double_backward, numerical_grad


class WrongGrad(FunctionNode):
    """y = x * w with a gradient for w that is off by a factor of 2."""

    def forward(self, inputs):
        x, w = inputs
        return x * w,

    def backward(self, indexes, grad_outputs):
        x, w = self.inputs
        gy, = grad_outputs
        return tuple(gy * w if i == 0 else gy * x * 2 for i in indexes)


def test_passes_on_a_correct_gradient(xp):
    x = xp.asarray(numpy.random.default_rng(0).standard_normal((3, 4)))
    check_backward(F.tanh, x, xp.ones((3, 4)))
    check_double_backward(lambda v: v * v * v, x, xp.ones((3, 4)), xp.ones((3, 4)))


def test_names_the_input_whose_gradient_is_off(xp):
    rng = numpy.random.default_rng(0)
    x, w = xp.asarray(rng.standard_normal(5)), xp.asarray(rng.standard_normal(5))
    with pytest.raises(AssertionError, match='check_backward: gradient of input 1 is off: '
                                             'backward gives .* central differences give'):
        check_backward(lambda a, b: WrongGrad().apply((a, b))[0], (x, w), xp.ones(5))


def test_params_are_checked(xp):
    p = dchain.Parameter(xp.asarray([1.0, 2.0]))
    x = xp.asarray([0.5, -0.5])
    check_backward(lambda v: v * p, x, xp.ones(2), params=p)
    with pytest.raises(AssertionError, match='gradient of parameter'):
        check_backward(lambda v: WrongGrad().apply((v, p))[0], x, xp.ones(2), params=p)


def test_integer_inputs_get_no_gradient(xp):
    x = xp.asarray(numpy.random.default_rng(1).standard_normal((4, 3)))
    t = xp.asarray([0, 2, 1, 1], numpy.int32)
    check_backward(F.softmax_cross_entropy, (x, t), None)


def test_argument_errors():
    with pytest.raises(ValueError, match='y_grad is needed'):
        check_backward(lambda v: v * 2, numpy.ones(3), None)
    with pytest.raises(ValueError, match='no_grads must have one entry per input'):
        check_backward(lambda v: v * 2, numpy.ones(3), numpy.ones(3), no_grads=[True, False])


def test_numerical_grad_elementwise():
    x = numpy.array([1.0, 2.0, 3.0])
    gx, = numerical_grad(lambda: (x ** 2,), [x], [numpy.ones(3)])
    numpy.testing.assert_allclose(gx, 2 * x, rtol=1e-6)
