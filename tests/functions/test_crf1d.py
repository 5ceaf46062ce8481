import itertools

import numpy
import pytest

import dchain
import dchain.functions as F
from dchain.testing import assert_allclose, check_backward

LENGTHS = [4, 2, 2, 1]
K = 3


def _path_score(cost, x, path):
    return sum(x[t, y] for t, y in enumerate(path)) + \
        sum(cost[a, b] for a, b in zip(path, path[1:]))


def _brute_force(cost, x, gold):
    """log Z - score(gold), and the best path, by enumerating every path."""
    scores = {path: _path_score(cost, x, path)
              for path in itertools.product(range(cost.shape[0]), repeat=len(x))}
    values = numpy.array(list(scores.values()))
    log_z = values.max() + numpy.log(numpy.exp(values - values.max()).sum())
    best = max(scores, key=scores.get)
    return log_z - scores[tuple(gold)], best, scores[best]


def _data(rng, xp):
    cost = rng.standard_normal((K, K))
    seqs = [rng.standard_normal((n, K)) for n in LENGTHS]
    labels = [rng.integers(0, K, n).astype(numpy.int32) for n in LENGTHS]
    xs = [x.data for x in F.transpose_sequence([xp.asarray(s) for s in seqs])]
    ys = [y.data for y in F.transpose_sequence([xp.asarray(y) for y in labels])]
    return cost, seqs, labels, xs, ys


def test_crf1d_against_all_paths(xp, rng):
    cost, seqs, labels, xs, ys = _data(rng, xp)
    expected = [_brute_force(cost, s, y)[0] for s, y in zip(seqs, labels)]
    loss = F.crf1d(xp.asarray(cost), xs, ys, reduce='no')
    assert loss.shape == (len(LENGTHS),)
    assert_allclose(loss.data, expected, atol=1e-10)
    mean = F.crf1d(xp.asarray(cost), xs, ys)
    assert mean.shape == ()
    assert_allclose(mean.data, numpy.mean(expected), atol=1e-10)


@pytest.mark.parametrize('reduce', ['mean', 'no'])
def test_crf1d_backward(xp, rng, reduce):
    cost, _, _, xs, ys = _data(rng, xp)
    gy = None if reduce == 'mean' else xp.asarray(rng.standard_normal(len(LENGTHS)))
    check_backward(lambda c, *x: F.crf1d(c, list(x), ys, reduce=reduce),
                   (xp.asarray(cost),) + tuple(xs), gy)


def test_argmax_crf1d_against_all_paths(xp, rng):
    cost, seqs, _, xs, _ = _data(rng, xp)
    score, path = F.argmax_crf1d(xp.asarray(cost), xs)
    assert [p.shape for p in path] == [tuple(x.shape[:1]) for x in xs]
    assert all(p.dtype == numpy.int32 for p in path)
    paths = [p.data for p in F.transpose_sequence(path)]
    for i, s in enumerate(seqs):
        _, best, best_score = _brute_force(cost, s, [0] * len(s))
        assert tuple(dchain.backend.to_cpu(paths[i]).tolist()) == best
        assert abs(float(score.data[i]) - best_score) < 1e-10


def test_argmax_crf1d_score_backward(xp, rng):
    cost, _, _, xs, _ = _data(rng, xp)
    check_backward(lambda c, *x: F.argmax_crf1d(c, list(x))[0], (xp.asarray(cost),) + tuple(xs),
                   xp.asarray(rng.standard_normal(len(LENGTHS))))


def test_crf1d_refuses_bad_input(rng):
    cost, _, _, xs, ys = _data(rng, numpy)
    with pytest.raises(ValueError, match=r'crf1d: cost must have shape \(K, K\)'):
        F.crf1d(cost[:2], xs, ys)
    with pytest.raises(ValueError, match='crf1d: xs must be steps'):
        F.crf1d(cost, xs[::-1], ys)
    with pytest.raises(ValueError, match='crf1d: ys must hold one label array'):
        F.crf1d(cost, xs, ys[:-1])
    with pytest.raises(ValueError, match="crf1d: reduce must be 'mean' or 'no'"):
        F.crf1d(cost, xs, ys, reduce='sum')


# -- logsumexp and select_item, which crf1d is built from ---------------------------------------

@pytest.mark.parametrize('axis', [None, 0, 1, (0, 2)])
def test_logsumexp(xp, rng, axis):
    x = rng.standard_normal((2, 3, 4)) * 5
    y = F.logsumexp(xp.asarray(x), axis=axis)
    expected = numpy.log(numpy.exp(x).sum(axis=axis))
    assert_allclose(y.data, expected, atol=1e-10)
    gy = xp.asarray(rng.standard_normal(numpy.shape(expected)))
    check_backward(lambda v: F.logsumexp(v, axis=axis), xp.asarray(x), gy)


def test_logsumexp_does_not_overflow():
    x = numpy.array([[1000.0, 1000.0], [-1000.0, -numpy.inf]], numpy.float32)
    assert_allclose(F.logsumexp(x, axis=1).data, [1000 + numpy.log(2), -1000], rtol=1e-6)


def test_select_item(xp, rng):
    x = rng.standard_normal((3, 4))
    t = numpy.array([3, 0, 3], numpy.int32)
    y = F.select_item(xp.asarray(x), xp.asarray(t))
    assert_allclose(y.data, x[[0, 1, 2], t], atol=0, rtol=0)
    check_backward(lambda v: F.select_item(v, xp.asarray(t)), xp.asarray(x),
                   xp.asarray(rng.standard_normal(3)))
    with pytest.raises(ValueError, match=r'select_item: t must be in \[0, 4\)'):
        F.select_item(x, numpy.array([0, 4, 1], numpy.int32))
    with pytest.raises(TypeError, match='select_item: t must be an integer array'):
        F.select_item(x, numpy.zeros(3))
