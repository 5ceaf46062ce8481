"""BinaryHierarchicalSoftmax: a softmax over a vocabulary as a product of binary decisions
along a tree's path (a Huffman tree makes frequent words' paths short)."""
import heapq
import numbers

import numpy

from dchain import initializers
from dchain.functions.activation.softplus import softplus
from dchain.functions.connection.embed_id import embed_id
from dchain.functions.math.sum import sum as _sum
from dchain.link import Link
from dchain.variable import Parameter, Variable


def _paths(tree):
    """Internal nodes numbered in pre-order; each leaf's (node ids, codes: 1 left, -1 right)."""
    paths, next_id = {}, [0]

    def walk(node, path, code):
        if isinstance(node, tuple):
            if len(node) != 2:
                raise ValueError('BinaryHierarchicalSoftmax: every internal node of the tree '
                                 'must have two children, got {!r}'.format(node))
            node_id = next_id[0]
            next_id[0] += 1
            walk(node[0], path + [node_id], code + [1.0])
            walk(node[1], path + [node_id], code + [-1.0])
        else:
            if not isinstance(node, numbers.Integral) or node < 0:
                raise ValueError('BinaryHierarchicalSoftmax: the leaves of the tree must be '
                                 'non-negative int ids, got {!r}'.format(node))
            paths[int(node)] = (path, code)

    walk(tree, [], [])
    return paths, next_id[0]


class BinaryHierarchicalSoftmax(Link):
    """Hierarchical softmax over a binary tree (Chainer's ``L.BinaryHierarchicalSoftmax``).

    The probability of word ``t`` is the product over the internal nodes ``e`` on its path
    of ``sigmoid(b_e x . W[e])``, ``b_e`` = 1 going left and -1 going right; the loss is the
    summed negative log-probability over the batch.

    Args:
        in_size (int): the size of the input vectors.
        tree: a binary tree of nested pairs with word ids as leaves, e.g. ``((0, 1), 2)``
            (see :meth:`create_huffman_tree`).
        dtype: the parameter dtype (``config.dtype`` by default).
    Attributes:
        W (Parameter): one vector per internal node, (n_nodes, in_size), Uniform(1) at first.

    ``forward(x, t)``: x float (B, in_size), t int32 (B,); returns the scalar loss. A word
    that is not in the tree contributes 0.
    """

    def __init__(self, in_size, tree, dtype=None):
        super().__init__()
        paths, n_nodes = _paths(tree)
        n_vocab = max(paths) + 1
        depth = max(len(p) for p, _ in paths.values()) or 1
        self._nodes = numpy.zeros((n_vocab, depth), numpy.int32)
        self._codes = numpy.zeros((n_vocab, depth), numpy.float64)
        for word, (path, code) in paths.items():
            self._nodes[word, :len(path)] = path
            self._codes[word, :len(code)] = code
        with self.init_scope():
            self.W = Parameter(initializers.Uniform(1, dtype), (max(n_nodes, 1), int(in_size)))

    @staticmethod
    def create_huffman_tree(word_counts):
        """A Huffman tree of nested pairs from ``{word_id: count}``: the two least frequent
        subtrees join first (ties by first appearance), as Chainer builds it."""
        if not word_counts:
            raise ValueError('BinaryHierarchicalSoftmax.create_huffman_tree: empty vocabulary')
        heap = [(count, order, word) for order, (word, count) in enumerate(word_counts.items())]
        heapq.heapify(heap)
        while len(heap) > 1:
            count1, order1, tree1 = heapq.heappop(heap)
            count2, order2, tree2 = heapq.heappop(heap)
            heapq.heappush(heap, (count1 + count2, min(order1, order2), (tree1, tree2)))
        return heap[0][2]

    def forward(self, x, t):
        t = t.data if isinstance(t, Variable) else t
        if x.ndim != 2 or x.shape[1] != self.W.shape[1] or getattr(t, 'shape', None) != \
                (x.shape[0],):
            raise ValueError('BinaryHierarchicalSoftmax: x must be (B, {}) and t (B,), got {} '
                             'and {}'.format(self.W.shape[1], x.shape, getattr(t, 'shape', None)))
        if t.dtype.kind not in 'iu':
            raise TypeError('BinaryHierarchicalSoftmax: t must be an int32 array, got {}'
                            .format(t.dtype))
        xp = self.xp
        t_host = numpy.asarray(t.get() if hasattr(t, 'get') else t)
        if t_host.size and (t_host.min() < 0 or t_host.max() >= len(self._nodes)):
            raise ValueError('BinaryHierarchicalSoftmax: t must be word ids in [0, {}), got {} '
                             'to {}'.format(len(self._nodes), t_host.min(), t_host.max()))
        nodes = xp.asarray(self._nodes[t_host])
        codes = xp.asarray(self._codes[t_host].astype(x.dtype))
        wx = _sum(embed_id(nodes, self.W) * x[:, None, :], axis=2)  # (B, depth)
        # Padding has code 0: masked out, since softplus(0) is log 2, not 0.
        return _sum(softplus(-wx * codes) * (codes != 0).astype(x.dtype))
