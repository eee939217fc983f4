"""GRUCell and GRU: Keras gates z, r, h, stored in PyTorch's order r, z, n."""

import torch

from lamina import activations
from lamina.layers.rnn.cells import RecurrentCell
from lamina.layers.rnn.recurrent_layer import RecurrentLayer
from lamina.registry import register_builtin

_KERNEL = torch._VF.gru  # read once: each torch._VF attribute is a module __getattr__ call


@register_builtin("keras.layers")
class GRUCell(RecurrentCell):
    """One GRU step. Inputs ``(batch, input_dim)``, states ``[h (batch, units)]``.

    Weights (Keras layouts, gates z, r, h): kernel ``(input_dim, 3·units)``, recurrent_kernel
    ``(units, 3·units)``, bias ``(2, 3·units)`` (input and recurrent biases) with ``reset_after=True``
    (Keras 3, PyTorch's formula: the reset gate multiplies ``h @ U_h + b_h``), ``(3·units,)`` with
    ``reset_after=False`` (Keras 2: the reset gate multiplies ``h`` before ``U_h``).
    reset_after with tanh/sigmoid runs PyTorch's fused ``gru`` kernel.
    """

    fusable = True
    gates = 3
    gate_order = (1, 0, 2)  # stored r, z, n

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True, reset_after=True,
                 **kwargs):
        kwargs.pop("implementation", None)  # Keras 3 keeps it for compatibility; no effect here
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.zero_recurrent_bias = not self.reset_after

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    @property
    def input_bias(self):
        return self.bias[0] if self.reset_after and self.use_bias else self.bias

    @property
    def recurrent_bias(self):
        if self.reset_after and self.use_bias:
            return self.bias[1]
        return super().recurrent_bias

    def fused_op(self):
        standard = self.activation is activations.tanh and self.recurrent_activation is activations.sigmoid
        return _KERNEL if standard and self.reset_after else None

    def recurrence(self, projected, states, recurrent_mask=None):
        h = states[0]
        previous = h if recurrent_mask is None else h * recurrent_mask
        x_r, x_z, x_n = projected.chunk(3, 1)
        if self.reset_after:
            h_r, h_z, h_n = torch.nn.functional.linear(previous, self.recurrent_kernel, self.recurrent_bias).chunk(3, 1)
            r = self.recurrent_activation(x_r + h_r)
            z = self.recurrent_activation(x_z + h_z)
            n = self.activation(x_n + r * h_n)
        else:
            kernel_rz, kernel_n = self.recurrent_kernel.split([2 * self.units, self.units], 0)
            h_r, h_z = torch.nn.functional.linear(previous, kernel_rz).chunk(2, 1)
            r = self.recurrent_activation(x_r + h_r)
            z = self.recurrent_activation(x_z + h_z)
            n = self.activation(x_n + torch.nn.functional.linear(r * previous, kernel_n))
        h = z * h + (1.0 - z) * n
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


@register_builtin("keras.layers")
class GRU(RecurrentLayer):
    """Gated Recurrent Unit layer on ``(batch, time, features)``.

    Takes GRUCell's arguments (``reset_after=True`` by default, as Keras 3) and RNN's; output
    ``(batch, units)`` or ``(batch, time, units)``; with return_state also ``h (batch, units)``.

    >>> GRU(4)(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 4])
    """

    cell_class = GRUCell
    cell_name = "gru_cell"
