"""LSTMCell and LSTM (gates i, f, c, o, as Keras and PyTorch)."""

import torch

from lamina import activations, initializers
from lamina.layers.rnn.cells import RecurrentCell
from lamina.layers.rnn.recurrent_layer import RecurrentLayer
from lamina.registry import register_builtin

_KERNEL = torch._VF.lstm  # read once: each torch._VF attribute is a module __getattr__ call


@register_builtin("keras.layers")
class LSTMCell(RecurrentCell):
    """One LSTM step. Inputs ``(batch, input_dim)``, states ``[h (batch, units), c (batch, units)]``.

    Weights (Keras layouts): kernel ``(input_dim, 4·units)``, recurrent_kernel ``(units, 4·units)``,
    bias ``(4·units,)``, gates i, f, c, o. ``unit_forget_bias=True`` starts the forget bias at 1.
    tanh/sigmoid activations run PyTorch's fused ``lstm`` kernel.
    """

    fusable = True
    gates = 4
    gate_order = (0, 1, 2, 3)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 unit_forget_bias=True, **kwargs):
        kwargs.pop("implementation", None)  # Keras 3 keeps it for compatibility; no effect here
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def make_bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer

        def forget_bias_one(shape, dtype=None):
            base = self.bias_initializer
            return torch.cat([torch.as_tensor(base((self.units,), dtype=dtype)),
                              torch.as_tensor(initializers.get("ones")((self.units,), dtype=dtype)),
                              torch.as_tensor(base((2 * self.units,), dtype=dtype))])

        return forget_bias_one

    def fused_op(self):
        standard = self.activation is activations.tanh and self.recurrent_activation is activations.sigmoid
        return _KERNEL if standard else None

    def recurrence(self, projected, states, recurrent_mask=None):
        h, c = states
        previous = h if recurrent_mask is None else h * recurrent_mask
        i, f, g, o = (projected + torch.nn.functional.linear(previous, self.recurrent_kernel)).chunk(4, 1)
        c = self.recurrent_activation(f) * c + self.recurrent_activation(i) * self.activation(g)
        h = self.recurrent_activation(o) * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


@register_builtin("keras.layers")
class LSTM(RecurrentLayer):
    """Long Short-Term Memory layer on ``(batch, time, features)``.

    Takes LSTMCell's arguments and RNN's (return_sequences, return_state, go_backwards, stateful, unroll);
    output ``(batch, units)`` or ``(batch, time, units)``; with return_state also ``h, c (batch, units)``.

    >>> LSTM(4, return_sequences=True)(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 5, 4])
    """

    cell_class = LSTMCell
    cell_name = "lstm_cell"
