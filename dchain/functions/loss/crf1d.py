"""crf1d and argmax_crf1d: the linear-chain conditional random field's loss and its Viterbi
decoding, over time-major steps with shrinking batches (as ``transpose_sequence`` gives)."""
import numpy

from dchain import backend
from dchain.functions.array.concat import concat
from dchain.functions.array.select_item import select_item
from dchain.functions.math.logsumexp import logsumexp
from dchain.functions.math.minmax import max as _max
from dchain.functions.math.sum import sum as _sum
from dchain.variable import Variable


def _check(name, cost, xs, ys=None):
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError('{}: cost must have shape (K, K), got {}'.format(name, cost.shape))
    if not isinstance(xs, (list, tuple)) or not xs:
        raise ValueError('{}: xs must be a non-empty list of steps (B_t, K)'.format(name))
    sizes = [x.shape[0] if x.ndim == 2 and x.shape[1] == cost.shape[0] else None for x in xs]
    if None in sizes or any(a < b for a, b in zip(sizes, sizes[1:])):
        raise ValueError('{}: xs must be steps of shape (B_t, {}) with B_0 >= B_1 >= ... (sort '
                         'by length and use transpose_sequence), got shapes {}'.format(
                             name, cost.shape[0], [tuple(x.shape) for x in xs]))
    if ys is not None:
        if not isinstance(ys, (list, tuple)) or len(ys) != len(xs) or \
                any(tuple(y.shape) != (n,) for y, n in zip(ys, sizes)):
            raise ValueError('{}: ys must hold one label array (B_t,) per step of xs, got shapes '
                             '{} for xs of batch sizes {}'.format(
                                 name, [tuple(y.shape) for y in ys]
                                 if isinstance(ys, (list, tuple)) else type(ys).__name__, sizes))


def _labels(y):
    return y.data if isinstance(y, Variable) else y


def _rejoin(current, finished):
    """The rows still active followed by those that ended, latest first."""
    return concat([current] + finished[::-1], axis=0) if finished else current


def crf1d(cost, xs, ys, reduce='mean'):
    """Negative log-likelihood of label sequences under a linear-chain CRF (Chainer's
    ``F.crf1d``).

    The score of a path ``y`` is ``sum_t xs[t][y_t] + sum_t cost[y_{t-1}, y_t]``; the loss of a
    sequence is ``log Z - score(gold)``, with ``Z`` summed over all paths by the forward
    algorithm.

    Args:
        cost: transition costs, float (K, K); ``cost[i, j]`` scores label i followed by j.
        xs: the time steps of unary scores, ``xs[t]`` of shape (B_t, K) with B_0 >= B_1 >= ...
            (sequences sorted by length, transposed by ``transpose_sequence``).
        ys: the gold labels, ``ys[t]`` an int array of shape (B_t,).
        reduce (str): 'mean' (the sum over sequences divided by B_0) or 'no' (one loss per
            sequence, shape (B_0,)).
    Returns:
        A Variable: a scalar, or (B_0,) with ``reduce='no'``.
    """
    _check('crf1d', cost, xs, ys)
    if reduce not in ('mean', 'no'):
        raise ValueError("crf1d: reduce must be 'mean' or 'no', got {!r}".format(reduce))
    alpha = xs[0]
    score = select_item(xs[0], _labels(ys[0]))
    done_alpha, done_score = [], []
    n_label = cost.shape[0]
    for x, y, y_prev in zip(xs[1:], ys[1:], ys[:-1]):
        batch = x.shape[0]
        y, y_prev = _labels(y), _labels(y_prev)[:batch]
        if alpha.shape[0] > batch:
            done_alpha.append(alpha[batch:])
            done_score.append(score[batch:])
            alpha, score = alpha[:batch], score[:batch]
        # alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + cost[i, j]) + x_t[j]
        alpha = logsumexp(alpha[:, :, None] + cost[None], axis=1) + x
        transition = cost.reshape((n_label * n_label,))[y_prev * n_label + y]
        score = score + select_item(x, y) + transition
    log_z = logsumexp(_rejoin(alpha, done_alpha), axis=1)
    loss = log_z - _rejoin(score, done_score)
    if reduce == 'mean':
        return _sum(loss) / xs[0].shape[0]
    return loss


def argmax_crf1d(cost, xs):
    """The highest-scoring label path of a linear-chain CRF, by Viterbi (Chainer's
    ``F.argmax_crf1d``).

    Args:
        cost: transition costs, float (K, K).
        xs: the time steps of unary scores, ``xs[t]`` of shape (B_t, K), B_t non-increasing.
    Returns:
        tuple ``(score, path)``: ``score`` a Variable (B_0,) holding each best path's score
        (differentiable), ``path`` a list of int32 arrays, ``path[t]`` of shape (B_t,).
    """
    _check('argmax_crf1d', cost, xs)
    xp = backend.get_array_module(xs[0].data if isinstance(xs[0], Variable) else xs[0])
    alpha = xs[0]
    ended = {}  # step t -> the scores of the sequences whose last step is t - 1
    back_pointers = {}
    for t in range(1, len(xs)):
        batch = xs[t].shape[0]
        if alpha.shape[0] > batch:
            ended[t] = alpha[batch:]
            alpha = alpha[:batch]
        scores = alpha[:, :, None] + cost[None]
        back_pointers[t] = xp.argmax(scores.data, axis=1)
        alpha = _max(scores, axis=1) + xs[t]
    # Walk back from each sequence's best last label.
    best = xp.argmax(alpha.data, axis=1)
    path = [best]
    for t in range(len(xs) - 1, 0, -1):
        best = xp.take_along_axis(back_pointers[t], best[:, None], axis=1)[:, 0]
        if t in ended:
            best = xp.concatenate([best, xp.argmax(ended[t].data, axis=1)])
        path.append(best)
    path = [p.astype(numpy.int32) for p in path[::-1]]
    score = _max(_rejoin(alpha, [ended[t] for t in sorted(ended)]), axis=1)
    return score, path
