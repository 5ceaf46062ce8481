"""Linear: the fully connected layer as a link."""
from dchain.functions.connection.linear import linear
from dchain.link import Link
from dchain.links.connection._parameters import weight_and_bias


class Linear(Link):
    """A fully connected layer, ``y = x W^T + b``.

    Args:
        in_size (int or None): input size; None infers it from the first input.
        out_size (int): output size. ``Linear(out_size)`` alone means ``Linear(None, out_size)``.
        nobias (bool): no bias term.
        initialW: initializer of W (LeCunNormal by default).
        initial_bias: initializer of b (zeros by default).
    Attributes:
        W (Parameter): weight of shape (out_size, in_size).
        b (Parameter or None): bias of shape (out_size,).
    """

    def __init__(self, in_size, out_size=None, nobias=False, initialW=None, initial_bias=None):
        super().__init__()
        if out_size is None:
            in_size, out_size = None, in_size
        self.in_size = in_size
        self.out_size = out_size
        with self.init_scope():
            self.W, self.b = weight_and_bias(initialW, initial_bias, nobias, out_size)
            if in_size is not None:
                self.W.initialize((out_size, in_size))

    def forward(self, x, n_batch_axes=1):
        """Apply the layer to ``x`` of shape (N, in_size) (or more batch axes)."""
        if self.W.data is None:
            in_size = 1
            for n in x.shape[n_batch_axes:]:
                in_size *= n
            self.in_size = in_size
            self.W.initialize((self.out_size, in_size))
        return linear(x, self.W, self.b, n_batch_axes)
