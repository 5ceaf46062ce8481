import weakref

import numpy
import pytest

import dchain
import dchain.functions as F
from dchain import FunctionNode, Variable
from dchain.testing import assert_allclose


def test_attributes(xp):
    data = xp.arange(6, dtype=numpy.float32).reshape(2, 3)
    x = Variable(data, name='x')
    assert x.data is data and x.array is data
    assert x.shape == (2, 3) and x.dtype == numpy.float32 and x.ndim == 2 and x.size == 6
    assert len(x) == 2
    assert x.name == 'x' and x.creator is None and x.grad is None
    assert x.T.shape == (3, 2)
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.transpose(1, 0).shape == (3, 2)
    assert 'variable' in repr(x)


def test_non_array_data_is_refused():
    with pytest.raises(TypeError, match='Variable: data must be a numpy.ndarray or '
                                        'cupy.ndarray, got list'):
        Variable([1, 2, 3])
    with pytest.raises(TypeError, match='got float'):
        Variable(1.0)


def test_function_refuses_non_array_input():
    with pytest.raises(TypeError, match='exp: inputs must be Variables or arrays, got list'):
        F.exp([1.0, 2.0])


def test_comparisons_act_on_data(xp):
    x = Variable(xp.array([1.0, 2.0, 3.0], numpy.float32))
    assert (x > 1.5).tolist() == [False, True, True]
    assert (x == x.data).all()
    assert (x <= Variable(xp.full(3, 2, numpy.float32))).tolist() == [True, True, False]
    assert {x: 1}[x] == 1  # hashable by identity
    with pytest.raises(TypeError, match='truth value'):
        bool(x)


def test_indexing(xp):
    x = Variable(xp.arange(12, dtype=numpy.float32).reshape(3, 4))
    y = x[1:, ::2]
    assert_allclose(y.data, x.data[1:, ::2])
    F.sum(y).backward()
    expected = numpy.zeros((3, 4), numpy.float32)
    expected[1:, ::2] = 1
    assert_allclose(x.grad, expected)


def test_backward_accumulates_over_paths_and_calls(xp):
    x = Variable(xp.array([2.0], numpy.float32))
    y = x * x + x * 3  # dy/dx = 2x + 3 = 7
    y.backward()
    assert_allclose(x.grad, [7.0])
    y = x * x + x * 3
    y.backward()  # grads accumulate until cleared
    assert_allclose(x.grad, [14.0])
    x.cleargrad()
    assert x.grad is None


def test_backward_visits_by_rank(xp):
    # A diamond: x -> a -> (b, c) -> d. d's gradient reaches a through two paths; a's
    # backward must run once, after both.
    calls = []

    class Record(FunctionNode):
        def forward(self, inputs):
            return inputs[0].copy(),

        def backward(self, indexes, grad_outputs):
            calls.append(grad_outputs[0].data.copy())
            return grad_outputs[0],

    x = Variable(xp.ones(2, numpy.float32))
    a = Record().apply((x,))[0]
    b = a * 2
    c = a * 3
    d = F.sum(b + c)
    d.backward()
    assert len(calls) == 1
    assert_allclose(calls[0], [5.0, 5.0])
    assert_allclose(x.grad, [5.0, 5.0])


def test_intermediate_grads_are_freed_unless_retained(xp):
    x = Variable(xp.ones(3, numpy.float32))
    h = x * 2
    y = F.sum(h * h)
    y.backward()
    assert h.grad is None and x.grad is not None
    assert y.grad is not None  # the root keeps its gradient
    x.cleargrad()
    h = x * 2
    y = F.sum(h * h)
    y.backward(retain_grad=True)
    assert_allclose(h.grad, 2 * h.data)


def test_backward_on_non_scalar_needs_grad(xp):
    x = Variable(xp.ones(3, numpy.float32))
    y = x * 2
    with pytest.raises(ValueError, match=r'Variable.backward: the initial gradient is implicit '
                                         r'only for a variable of one element \(or none\); set '
                                         r'.grad first '
                                         r'for shape \(3,\)'):
        y.backward()
    y.grad = xp.array([1.0, 2.0, 3.0], numpy.float32)
    y.backward()
    assert_allclose(x.grad, [2.0, 4.0, 6.0])


def test_wrong_gradient_from_backward_is_refused(xp):
    class BadShape(FunctionNode):
        def forward(self, inputs):
            return inputs[0] * 2,

        def backward(self, indexes, grad_outputs):
            return Variable(grad_outputs[0].data[:1]),

    class BadDtype(FunctionNode):
        def forward(self, inputs):
            return inputs[0] * 2,

        def backward(self, indexes, grad_outputs):
            return Variable(grad_outputs[0].data.astype(numpy.float64)),

    x = Variable(xp.ones(3, numpy.float32))
    with pytest.raises(ValueError, match=r'BadShape.backward: the gradient for input 0 must have '
                                         r'shape \(3,\) and dtype float32 like the input, got '
                                         r'shape \(1,\) and dtype float32'):
        F.sum(BadShape().apply((x,))[0]).backward()
    with pytest.raises(ValueError, match='BadDtype.backward: .* got shape \\(3,\\) and dtype '
                                         'float64'):
        F.sum(BadDtype().apply((x,))[0]).backward()


def test_requires_grad_false_gets_no_gradient(xp):
    x = Variable(xp.ones(3, numpy.float32), requires_grad=False)
    w = Variable(xp.ones(3, numpy.float32))
    F.sum(x * w).backward()
    assert x.grad is None and w.grad is not None


def test_no_backprop_mode_builds_no_graph(xp):
    x = Variable(xp.ones(3, numpy.float32))
    with dchain.no_backprop_mode():
        y = x * 2
        with dchain.force_backprop_mode():
            z = x * 2
    assert y.creator is None
    assert z.creator is not None


def test_unchain_backward_frees_the_graph(xp):
    x = Variable(xp.ones(3, numpy.float32))
    h = x * 2
    y = F.sum(h * 3)
    node = h.creator
    ref = weakref.ref(node)
    y.unchain_backward()
    del node
    assert y.creator is None and h.creator is None
    assert ref() is None
    y.grad = xp.ones((), numpy.float32)
    y.backward()  # a leaf now: nothing happens
    assert x.grad is None


def test_unchain_backward_makes_held_outputs_leaves(xp):
    # Truncated backprop through time: the state an RNN keeps (here the second output of a
    # node) must become a leaf, not a variable whose creator lost its inputs.
    x = Variable(xp.ones(4, numpy.float32))
    used, kept = F.split_axis(x * 2, 2, axis=0)
    loss = F.sum(used)
    loss.unchain_backward()
    assert kept.creator is None
    F.sum(kept * 3).backward()  # starts a new graph from the kept state without error
    assert x.grad is None


def test_unchain_cuts_one_link(xp):
    x = Variable(xp.ones(3, numpy.float32))
    h = x * 2
    h.unchain()
    F.sum(h * 3).backward()
    assert x.grad is None and h.grad is not None


def test_grad_function(xp):
    x = Variable(xp.array([1.0, 2.0], numpy.float32))
    w = Variable(xp.array([3.0, 4.0], numpy.float32))
    x.grad = xp.array([100.0, 100.0], numpy.float32)
    y = F.sum(x * x * w)
    gx, gw = dchain.grad([y], [x, w])
    assert_allclose(gx.data, 2 * x.data * w.data)
    assert_allclose(gw.data, x.data ** 2)
    assert_allclose(x.grad, [100.0, 100.0])  # untouched
    assert w.grad is None
    with pytest.raises(TypeError, match='grad: outputs and inputs must be lists'):
        dchain.grad(y, [x])


def test_double_backprop(xp):
    x = Variable(xp.array([1.5, -2.0], numpy.float32))
    y = F.sum(x ** 3)
    gx, = dchain.grad([y], [x], enable_double_backprop=True)
    assert_allclose(gx.data, 3 * x.data ** 2)
    ggx, = dchain.grad([F.sum(gx)], [x])
    assert_allclose(ggx.data, 6 * x.data)
    # The same through backward(enable_double_backprop=True) and grad_var.
    x.cleargrad()
    y = F.sum(x ** 3)
    y.backward(enable_double_backprop=True)
    z = F.sum(x.grad_var * x.grad_var)
    x.cleargrad()
    z.backward()
    assert_allclose(x.grad, 2 * (3 * x.data ** 2) * (6 * x.data))


def test_grad_setter_and_zerograd(xp):
    x = Variable(xp.ones(2, numpy.float32))
    x.zerograd()
    assert_allclose(x.grad, [0.0, 0.0])
    with pytest.raises(TypeError, match='Variable.grad: expected an array or None, got list'):
        x.grad = [1, 2]


def test_parameter_lazy_initialization():
    p = dchain.Parameter(dchain.initializers.Constant(2.0))
    assert p.data is None and not p.is_initialized
    p.initialize((2, 3))
    assert p.shape == (2, 3) and (p.data == 2).all() and p.dtype == numpy.float32
    q = dchain.Parameter(numpy.arange(3, dtype=numpy.float64))
    assert q.dtype == numpy.float64 and q.data.tolist() == [0, 1, 2]
    r = dchain.Parameter(0.5, (4,))
    assert (r.data == 0.5).all()


def test_mixing_backends_is_refused():
    cupy = pytest.importorskip('cupy')
    try:
        a = cupy.ones(3, numpy.float32)
    except Exception:
        pytest.skip('no usable GPU')
    with pytest.raises(TypeError, match='add: inputs mix numpy and cupy arrays'):
        F.add(a, numpy.ones(3, numpy.float32))
