"""LayerNormalization: per-sample normalization over the units, as a link."""
from dchain import initializers
from dchain.functions.normalization.layer_normalization import layer_normalization
from dchain.link import Link
from dchain.variable import Parameter


class LayerNormalization(Link):
    """Layer normalization of inputs of shape (N, size): each row is normalized to zero mean
    and unit variance, then scaled by gamma and shifted by beta.

    Args:
        size (int or None): the number of units; None infers it from the first input.
        eps (float): added to the variance for numerical stability.
        initial_gamma, initial_beta: initializers of gamma (ones) and beta (zeros).
    Attributes:
        gamma, beta (Parameter): scale and shift, of shape (size,).
    """

    def __init__(self, size=None, eps=1e-6, initial_gamma=None, initial_beta=None):
        super().__init__()
        if not eps > 0:
            raise ValueError('LayerNormalization: eps must be positive, got {}'.format(eps))
        self.eps = eps
        with self.init_scope():
            self.gamma = Parameter(initializers._get_initializer(
                1 if initial_gamma is None else initial_gamma))
            self.beta = Parameter(initializers._get_initializer(
                0 if initial_beta is None else initial_beta))
        if size is not None:
            self._initialize_params(size)

    def _initialize_params(self, size):
        self.gamma.initialize((size,))
        self.beta.initialize((size,))

    def forward(self, x):
        """Normalize ``x`` of shape (N, size); returns the same shape."""
        if self.gamma.data is None:
            if x.ndim != 2:
                raise ValueError('LayerNormalization: x must have 2 dimensions (N, size), got '
                                 'shape {}'.format(x.shape))
            self._initialize_params(x.shape[1])
        return layer_normalization(x, self.gamma, self.beta, self.eps)
