"""LSTM and StatelessLSTM: the fully connected LSTM layer, with and without its own state."""
import numbers

from dchain import initializers
from dchain.functions.array.concat import concat, split_axis
from dchain.functions.rnn.lstm import lstm
from dchain.link import Chain
from dchain.links.connection.linear import Linear
from dchain.variable import Variable


class _LSTMBase(Chain):

    def __init__(self, in_size, out_size=None, lateral_init=None, upward_init=None,
                 bias_init=None, forget_bias_init=None):
        super().__init__()
        if out_size is None:
            in_size, out_size = None, in_size
        name = type(self).__name__
        for label, size in (('in_size', in_size), ('out_size', out_size)):
            if size is None and label == 'in_size':
                continue
            if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
                raise ValueError('{}: {} must be a positive int, got {!r}'.format(
                    name, label, size))
        out_size = int(out_size)
        self.state_size = out_size
        self.lateral_init = lateral_init
        self.upward_init = upward_init
        self.bias_init = bias_init
        self.forget_bias_init = forget_bias_init
        with self.init_scope():
            self.upward = Linear(in_size, 4 * out_size, initialW=0)
            self.lateral = Linear(out_size, 4 * out_size, initialW=0, nobias=True)
        if in_size is not None:
            self._initialize_params()

    def _initialize_params(self):
        lateral_init = initializers._get_initializer(self.lateral_init)
        upward_init = initializers._get_initializer(self.upward_init)
        bias_init = initializers._get_initializer(
            0 if self.bias_init is None else self.bias_init)
        forget_bias_init = initializers._get_initializer(
            1 if self.forget_bias_init is None else self.forget_bias_init)
        n = self.state_size
        # Each gate's block is initialized on its own, so fan-scaled initializers see (n, in).
        for start in range(0, 4 * n, n):
            lateral_init(self.lateral.W.array[start:start + n])
            upward_init(self.upward.W.array[start:start + n])
        gates = self.upward.b.array.reshape(n, 4)
        for k, init in enumerate((bias_init, bias_init, forget_bias_init, bias_init)):
            block = gates[:, k].copy()
            init(block)
            gates[:, k] = block

    def _lstm_input(self, x, h):
        """upward(x) + lateral(h) for the first len(x) rows of h; returns it and h's rest."""
        if self.upward.W.array is None:
            in_size = x.size // x.shape[0]
            self.upward.W.initialize((4 * self.state_size, in_size))
            self._initialize_params()
        batch = x.shape[0]
        lstm_in = self.upward(x)
        h_rest = None
        if h is not None:
            if h.shape[0] < batch:
                raise ValueError('{}: the batch size of x ({}) must not exceed that of the '
                                 'previous state h ({})'.format(type(self).__name__, batch,
                                                                h.shape[0]))
            if batch == 0:
                h_rest = h
            elif h.shape[0] > batch:
                h_update, h_rest = split_axis(h, [batch], axis=0)
                lstm_in = lstm_in + self.lateral(h_update)
            else:
                lstm_in = lstm_in + self.lateral(h)
        return lstm_in, h_rest


class StatelessLSTM(_LSTMBase):
    """A fully connected LSTM layer whose state the caller passes in (Chainer's
    ``L.StatelessLSTM``).

    Args and initialization as :class:`LSTM`.

    ``forward(c, h, x)``: ``c`` and ``h`` of shape (B_prev, out_size) or None (zeros), ``x``
    of shape (B, in_size) with B <= B_prev; returns ``(c_new, h_new)`` of shape
    (B_prev, out_size): rows B and above keep their previous state.
    """

    def forward(self, c, h, x):
        lstm_in, h_rest = self._lstm_input(x, h)
        if c is None:
            c = self.xp.zeros((x.shape[0], self.state_size), x.dtype)
        c_new, y = lstm(c, lstm_in)
        if h_rest is None:
            return c_new, y
        if y.shape[0] == 0:
            return c_new, h_rest
        return c_new, concat([y, h_rest], axis=0)


class LSTM(_LSTMBase):
    """A fully connected LSTM layer that keeps its state between calls (Chainer's ``L.LSTM``).

    Each call computes ``lstm(c, upward(x) + lateral(h))`` from the stored ``c`` and ``h``
    and stores the new ones; ``reset_state()`` forgets them.

    Args:
        in_size (int or None): input size; None infers it from the first input.
            ``LSTM(out_size)`` alone means ``LSTM(None, out_size)``.
        out_size (int): the size of the state and of the output.
        lateral_init, upward_init: initializers of ``lateral.W`` (out_size * 4, out_size) and
            ``upward.W`` (out_size * 4, in_size), applied to each gate's block; LeCunNormal by
            default.
        bias_init: initializer of the a, i, o gates' biases (0 by default).
        forget_bias_init: initializer of the forget gate's bias (1 by default).
    Attributes:
        upward (Linear), lateral (Linear without bias): the gate pre-activations, interleaved
            as :func:`dchain.functions.lstm` expects.
        c, h (Variable or None): the cell state and the last output, (B, out_size).

    ``forward(x)``: ``x`` of shape (B, in_size), B at most the batch size of the stored state
    (rows past B keep their state); returns ``h`` of shape (B, out_size), x's dtype.
    """

    def __init__(self, in_size, out_size=None, lateral_init=None, upward_init=None,
                 bias_init=None, forget_bias_init=None):
        super().__init__(in_size, out_size, lateral_init, upward_init, bias_init,
                         forget_bias_init)
        self.reset_state()

    def reset_state(self):
        """Forget the state (the next call starts from zeros)."""
        self.c = self.h = None

    def set_state(self, c, h):
        """Set the cell state ``c`` and output ``h``, each (B, out_size), Variables or
        arrays."""
        for label, value in (('c', c), ('h', h)):
            if not isinstance(value, Variable) and not hasattr(value, 'shape'):
                raise TypeError('LSTM.set_state: {} must be a Variable or an array, got {}'
                                .format(label, type(value).__name__))
        self.c = c if isinstance(c, Variable) else Variable(self.device.send(c))
        self.h = h if isinstance(h, Variable) else Variable(self.device.send(h))

    def forward(self, x):
        # The state follows the link when a model moves to another device.
        for name in ('c', 'h'):
            state = getattr(self, name)
            if state is not None and state.device != self.device:
                state.to_device(self.device)
        lstm_in, h_rest = self._lstm_input(x, self.h)
        if self.c is None:
            self.c = Variable(self.xp.zeros((x.shape[0], self.state_size), x.dtype))
        self.c, y = lstm(self.c, lstm_in)
        if h_rest is None:
            self.h = y
        elif y.shape[0] == 0:
            self.h = h_rest
        else:
            self.h = concat([y, h_rest], axis=0)
        return y
