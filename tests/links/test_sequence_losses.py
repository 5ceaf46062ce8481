import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain.utils import WalkerAlias
from dchain.testing import assert_allclose, check_backward


# -- CRF1d ----------------------------------------------------------------------------------

def _sequences(rng, lengths, k):
    xs = [rng.standard_normal((n, k)) for n in lengths]
    ys = [rng.integers(0, k, n).astype(numpy.int32) for n in lengths]
    return xs, ys


def test_crf1d_link_transposes_and_keeps_order(rng):
    link = L.CRF1d(3, initial_cost=rng.standard_normal((3, 3)))
    assert link.cost.shape == (3, 3) and link.cost.dtype == numpy.float32
    link.cost.array = link.cost.array.astype(numpy.float64)
    lengths = [2, 4, 1, 4]
    xs, ys = _sequences(rng, lengths, 3)
    per_sequence = link(xs, ys, reduce='no', transpose=True)
    for i in range(len(xs)):
        alone = link([xs[i]], [ys[i]], reduce='no', transpose=True)
        assert_allclose(per_sequence.data[i], alone.data[0], atol=1e-10)
    mean = link(xs, ys, transpose=True)
    assert_allclose(mean.data, per_sequence.data.mean(), atol=1e-10)
    score, path = link.argmax(xs, transpose=True)
    assert [p.shape for p in path] == [(n,) for n in lengths]
    for i in range(len(xs)):
        s_i, (p_i,) = link.argmax([xs[i]], transpose=True)
        assert (p_i == path[i]).all()
        assert_allclose(score.data[i], s_i.data[0], atol=1e-10)


def test_crf1d_link_time_major_default(rng):
    link = L.CRF1d(3)
    assert (link.cost.array == 0).all()
    link.cost.array = link.cost.array.astype(numpy.float64)
    xs, ys = _sequences(rng, [3, 2], 3)
    trans_x = [x.data for x in F.transpose_sequence(xs)]
    trans_y = [y.data for y in F.transpose_sequence(ys)]
    assert_allclose(link(trans_x, trans_y).data, link(xs, ys, transpose=True).data, atol=1e-12)
    default = L.CRF1d(3, transpose=True)
    default.cost.array = default.cost.array.astype(numpy.float64)
    assert default(xs, ys).shape == ()


def test_crf1d_link_backward(rng):
    link = L.CRF1d(3, initial_cost=rng.standard_normal((3, 3)))
    link.cost.array = link.cost.array.astype(numpy.float64)
    xs, ys = _sequences(rng, [3, 1, 2], 3)
    check_backward(lambda *x: link(list(x), ys, transpose=True), tuple(xs), None,
                   params=(link.cost,))


def test_crf1d_link_learns(rng):
    # Labels follow a fixed pattern that only the transitions reveal: the CRF must learn it.
    link = L.CRF1d(2)
    optimizer = dchain.optimizers.Adam(alpha=0.1)
    optimizer.setup(link)
    xs = [numpy.zeros((5, 2), numpy.float32) for _ in range(3)]
    ys = [numpy.array([0, 1, 0, 1, 0], numpy.int32) for _ in range(3)]
    xs[0][0] = [5, 0]
    first = float(link(xs, ys, transpose=True).data)
    for _ in range(30):
        link.cleargrads()
        loss = link(xs, ys, transpose=True)
        loss.backward()
        optimizer.update()
    assert float(loss.data) < first / 2
    _, path = link.argmax(xs[:1], transpose=True)
    assert path[0].tolist() == [0, 1, 0, 1, 0]


# -- word2vec's output layers -----------------------------------------------------------------

def test_huffman_tree_matches_chainer_example():
    tree = L.BinaryHierarchicalSoftmax.create_huffman_tree({0: 8, 1: 5, 2: 6, 3: 4})
    assert tree == ((3, 1), (2, 0))
    with pytest.raises(ValueError, match='empty vocabulary'):
        L.BinaryHierarchicalSoftmax.create_huffman_tree({})


def _sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def test_hierarchical_softmax(rng):
    tree = ((0, 1), (2, (3, 4)))
    link = L.BinaryHierarchicalSoftmax(3, tree)
    assert link.W.shape == (4, 3)  # four internal nodes
    link.W.array = rng.standard_normal((4, 3))
    x = rng.standard_normal((3, 3))
    t = numpy.array([0, 4, 2], numpy.int32)
    # Pre-order node ids: root 0, (0, 1) is 1, (2, (3, 4)) is 2, (3, 4) is 3.
    paths = {0: [(0, 1), (1, 1)], 4: [(0, -1), (2, -1), (3, -1)], 2: [(0, -1), (2, 1)]}
    W = link.W.array
    expected = -sum(numpy.log(_sigmoid(b * W[e] @ x[i]))
                    for i, word in enumerate(t) for e, b in paths[int(word)])
    assert_allclose(link(x, t).data, expected, atol=1e-10)
    # The probabilities of all words sum to one.
    total = sum(numpy.exp(-float(link(x[:1], numpy.array([w], numpy.int32)).data))
                for w in range(5))
    assert abs(total - 1) < 1e-10
    check_backward(lambda v: link(v, t), x, None, params=(link.W,))


def test_hierarchical_softmax_refuses_bad_input():
    link = L.BinaryHierarchicalSoftmax(3, ((0, 1), 2))
    with pytest.raises(ValueError, match=r'BinaryHierarchicalSoftmax: t must be word ids in'):
        link(numpy.zeros((1, 3), numpy.float32), numpy.array([3], numpy.int32))
    with pytest.raises(ValueError, match='two children'):
        L.BinaryHierarchicalSoftmax(3, ((0, 1, 2), 3))


def test_negative_sampling_link(rng):
    link = L.NegativeSampling(3, [1, 2, 3, 4], 2)
    assert link.W.shape == (4, 3) and (link.W.array == 0).all()
    x = rng.standard_normal((5, 3)).astype(numpy.float32)
    t = numpy.array([0, 1, 2, 3, 0], numpy.int32)
    loss = link(x, t)
    # With W = 0 every term is softplus(0) = log 2.
    assert_allclose(loss.data, 5 * 3 * numpy.log(2), rtol=1e-6)
    link.W.array = rng.standard_normal((4, 3))
    numpy.random.seed(3)
    first = link(x.astype(numpy.float64), t, reduce='no')
    numpy.random.seed(3)
    second = link(x.astype(numpy.float64), t, reduce='no')
    assert first.shape == (5,)
    assert_allclose(first.data, second.data, atol=0, rtol=0)


def test_walker_alias_draws_by_weight():
    numpy.random.seed(0)
    sampler = WalkerAlias([1, 0, 3, 6])
    ids = sampler.sample((20000,))
    assert ids.dtype == numpy.int32
    frequencies = numpy.bincount(ids, minlength=4) / 20000
    assert_allclose(frequencies, [0.1, 0, 0.3, 0.6], atol=0.015)
    with pytest.raises(ValueError, match='WalkerAlias: probs'):
        WalkerAlias([-1, 2])
