"""GRU links: StatelessGRU (the caller passes h) and StatefulGRU, alias GRU (h kept)."""
from dchain.functions.activation.sigmoid import sigmoid
from dchain.functions.activation.tanh import tanh
from dchain.functions.math.linear_interpolate import linear_interpolate
from dchain.link import Chain
from dchain.links.connection.linear import Linear
from dchain.variable import Variable


class GRUBase(Chain):
    """The six linear maps of a GRU: W_r, W_z, W act on x; U_r, U_z, U on the state."""

    def __init__(self, in_size, out_size, init=None, inner_init=None, bias_init=None):
        super().__init__()
        with self.init_scope():
            for name, size, initialW in (('W_r', in_size, init), ('U_r', out_size, inner_init),
                                         ('W_z', in_size, init), ('U_z', out_size, inner_init),
                                         ('W', in_size, init), ('U', out_size, inner_init)):
                setattr(self, name, Linear(size, out_size, initialW=initialW,
                                           initial_bias=bias_init))

    def _step(self, h, x):
        r = sigmoid(self.W_r(x) + self.U_r(h))
        z = sigmoid(self.W_z(x) + self.U_z(h))
        h_bar = tanh(self.W(x) + self.U(r * h))
        return linear_interpolate(z, h_bar, h)


class StatelessGRU(GRUBase):
    """A gated recurrent unit whose state the caller passes (Chainer's ``L.StatelessGRU``).

    ``r = sigmoid(W_r x + U_r h)``, ``z = sigmoid(W_z x + U_z h)``,
    ``h_bar = tanh(W x + U (r h))``, ``h' = (1 - z) h + z h_bar``.

    Args:
        in_size (int or None): the input size (None: inferred from the first input).
        out_size (int): the state size.
        init, inner_init: initializers of the W and the U weights (LeCunNormal by default).
        bias_init: initializer of the biases (zeros by default).

    ``forward(h, x)``: h (B, out_size), x (B, in_size); returns h' (B, out_size).
    """

    def forward(self, h, x):
        return self._step(h, x)


class StatefulGRU(GRUBase):
    """A gated recurrent unit that keeps its state ``h`` between calls (Chainer's
    ``L.StatefulGRU``); arguments as :class:`StatelessGRU`.

    ``forward(x)``: returns and stores h' (B, out_size); the first call after
    ``reset_state()`` starts from ``h = 0`` (so ``h' = z h_bar``).
    """

    def __init__(self, in_size, out_size, init=None, inner_init=None, bias_init=0):
        super().__init__(in_size, out_size, init, inner_init, bias_init)
        self.state_size = out_size
        self.reset_state()

    def set_state(self, h):
        """Set the state ``h`` (a Variable or an array of shape (B, out_size))."""
        self.h = h if isinstance(h, Variable) else Variable(self.device.send(h))

    def reset_state(self):
        """Forget the state."""
        self.h = None

    def forward(self, x):
        if self.h is None:
            z = sigmoid(self.W_z(x))
            self.h = z * tanh(self.W(x))
        else:
            if self.h.device != self.device:
                self.h.to_device(self.device)
            self.h = self._step(self.h, x)
        return self.h


class GRU(StatefulGRU):
    """Alias of :class:`StatefulGRU` (Chainer's ``L.GRU``): ``forward(x)`` only."""

    def forward(self, *args):
        if len(args) != 1:
            raise TypeError('GRU: forward takes one argument x (GRU is stateful; use '
                            'StatelessGRU to pass h), got {} arguments'.format(len(args)))
        return super().forward(args[0])
