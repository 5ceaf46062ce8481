"""negative_sampling: the word2vec loss that scores the true word against a few sampled ones."""
from dchain import backend
from dchain.functions.activation.softplus import softplus
from dchain.functions.connection.embed_id import embed_id
from dchain.functions.math.sum import sum as _sum
from dchain.variable import Variable


def negative_sampling(x, t, W, sampler, sample_size, reduce='sum', return_samples=False):
    """Negative sampling loss (Chainer's ``F.negative_sampling``).

    For each example ``i`` with label ``t[i]`` and ``sample_size`` negative ids ``s`` drawn by
    ``sampler``, the loss is ``softplus(-x_i . W[t_i]) + sum_s softplus(x_i . W[s])``, i.e.
    ``-log sigmoid(x_i . W[t_i]) - sum_s log sigmoid(-x_i . W[s])``. Examples labelled -1
    contribute nothing.

    Args:
        x: the input vectors, float (B, D).
        t: the true ids, int32 (B,); -1 marks an ignored example.
        W: the output vectors, float (V, D), x's dtype.
        sampler (callable): ``sampler(shape)`` returns an int32 array of ids in [0, V) of
            that shape (e.g. ``WalkerAlias(p).sample``), on x's device.
        sample_size (int): negatives per example.
        reduce (str): 'sum' (a scalar) or 'no' (one loss per example, (B,)).
        return_samples (bool): also return the ids used, (B, 1 + sample_size) with the true
            id first.
    Returns:
        A Variable (scalar or (B,)), and the samples with ``return_samples``.
    """
    if reduce not in ('sum', 'no'):
        raise ValueError("negative_sampling: reduce must be 'sum' or 'no', got {!r}".format(
            reduce))
    t_data = t.data if isinstance(t, Variable) else t
    if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[1] or \
            getattr(t_data, 'shape', None) != (x.shape[0],):
        raise ValueError('negative_sampling: x (B, D), t (B,) and W (V, D) do not match: got x '
                         '{}, t {}, W {}'.format(x.shape, getattr(t_data, 'shape', None), W.shape))
    if t_data.dtype.kind not in 'iu':
        raise TypeError('negative_sampling: t must be an int32 array of ids, got {}'.format(
            t_data.dtype))
    xp = backend.get_array_module(t_data)
    batch = x.shape[0]
    samples = xp.asarray(sampler((batch, sample_size + 1)), dtype=xp.int32)
    ignored = t_data == -1
    samples[:, 0] = t_data
    # An ignored example looks up row 0 and is masked out of the loss.
    w = embed_id(xp.where(samples < 0, 0, samples), W)   # (B, 1 + S, D)
    wx = _sum(w * x[:, None, :], axis=2)            # (B, 1 + S)
    sign = xp.ones((1, sample_size + 1), x.dtype)
    sign[0, 0] = -1
    keep = (~ignored).astype(x.dtype)[:, None]
    loss = _sum(softplus(wx * sign) * keep, axis=1)
    if reduce == 'sum':
        loss = _sum(loss)
    if return_samples:
        return loss, samples
    return loss
