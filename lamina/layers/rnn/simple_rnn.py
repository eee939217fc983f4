"""SimpleRNNCell and SimpleRNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``."""

import torch

from lamina import activations
from lamina.layers.rnn.cells import RecurrentCell
from lamina.layers.rnn.recurrent_layer import RecurrentLayer
from lamina.registry import register_builtin

_FUSED = {activations.tanh: torch._VF.rnn_tanh, activations.relu: torch._VF.rnn_relu}


@register_builtin("keras.layers")
class SimpleRNNCell(RecurrentCell):
    """One step of a fully connected RNN. Inputs ``(batch, input_dim)``, states ``[(batch, units)]``.

    Weights (Keras layouts): kernel ``(input_dim, units)``, recurrent_kernel ``(units, units)``,
    bias ``(units,)``. ``activation`` tanh or relu runs PyTorch's fused ``rnn_tanh``/``rnn_relu``.
    """

    fusable = True

    def fused_op(self):
        return _FUSED.get(self.activation)

    def recurrence(self, projected, states, recurrent_mask=None):
        previous = states[0] if recurrent_mask is None else states[0] * recurrent_mask
        output = self.activation(projected + torch.nn.functional.linear(previous, self.recurrent_kernel))
        return output, [output]


@register_builtin("keras.layers")
class SimpleRNN(RecurrentLayer):
    """Fully connected RNN: ``SimpleRNN(units, activation="tanh", ...)`` on ``(batch, time, features)``.

    Takes SimpleRNNCell's arguments and RNN's (return_sequences, return_state, go_backwards, stateful,
    unroll); output ``(batch, units)`` or ``(batch, time, units)``.

    >>> SimpleRNN(4)(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 4])
    """

    cell_class = SimpleRNNCell
    cell_name = "simple_rnn_cell"
    config_omits = ("seed",)
