"""static_graph / static_code run define-by-run with the results of undecorated code."""
import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain.testing import assert_allclose


class MLP(dchain.Chain):
    def __init__(self, side_effects):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(3, 4)
            self.l2 = L.Linear(4, 2)
        self.side_effects = side_effects

    @dchain.static_code
    def count(self):
        self.side_effects.append(1)

    def plain(self, x):
        return self.l2(F.relu(self.l1(x)))

    @dchain.static_graph
    def __call__(self, x):
        self.count()
        return self.plain(x)

    @dchain.static_graph(verbosity_level=1, enable_double_backprop=True)
    def forward_options(self, x):
        return self.plain(x)


def test_same_results_as_define_by_run():
    dchain.random.seed(0)
    calls = []
    model = MLP(calls)
    x = numpy.random.default_rng(0).standard_normal((5, 3)).astype(numpy.float32)
    for batch in (x, x[:2]):  # the graph may change from call to call
        y = model(batch)
        F.sum(y * y).backward()
        grads = [p.grad.copy() for p in model.params()]
        model.cleargrads()
        expected = model.plain(batch)
        F.sum(expected * expected).backward()
        assert_allclose(y.array, expected.array)
        for g, p in zip(grads, model.params()):
            assert_allclose(g, p.grad)
        model.cleargrads()
    assert_allclose(model.forward_options(x).array, model.plain(x).array)
    assert len(calls) == 2  # static_code ran on every call
    assert MLP.__call__.__name__ == '__call__'


def test_bad_options_are_refused():
    with pytest.raises(TypeError, match="static_graph: unexpected keyword argument"):
        dchain.static_graph(verbose=1)
    with pytest.raises(TypeError, match='static_code: decorates a function'):
        dchain.static_code(3)
