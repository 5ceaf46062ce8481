"""EmbedID: a lookup table of learned vectors, one per integer ID."""
import numbers

from dchain import initializers
from dchain.functions.connection.embed_id import embed_id
from dchain.link import Link
from dchain.variable import Parameter


class EmbedID(Link):
    """Maps integer IDs to learned vectors (word embeddings).

    Args:
        in_size (int): the number of IDs (the vocabulary size); IDs are 0 .. in_size - 1.
        out_size (int): the size of each vector.
        initialW: initializer of W (``Normal(1.0)`` by default, as in Chainer).
        ignore_label (int or None): an ID that maps to a zero vector and gets no gradient.
    Attributes:
        W (Parameter): the table, of shape (in_size, out_size).
    """

    def __init__(self, in_size, out_size, initialW=None, ignore_label=None):
        super().__init__()
        for name, size in (('in_size', in_size), ('out_size', out_size)):
            if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
                raise ValueError('EmbedID: {} must be a positive int, got {!r}'.format(name, size))
        in_size, out_size = int(in_size), int(out_size)
        self.in_size = in_size
        self.out_size = out_size
        self.ignore_label = ignore_label
        if initialW is None:
            initialW = initializers.Normal(1.0)
        with self.init_scope():
            self.W = Parameter(initializers._get_initializer(initialW), (in_size, out_size))

    def forward(self, x):
        """Look up ``x`` (an int32 array of IDs, any shape); returns shape ``x.shape +
        (out_size,)``."""
        return embed_id(x, self.W, ignore_label=self.ignore_label)
