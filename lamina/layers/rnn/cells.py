"""The base of the built-in recurrent cells: weights in PyTorch's fused-kernel layouts, dropout masks.

A cell computes one time step: ``call(inputs, states, training=None)`` maps inputs ``(batch, input_dim)``
and states (a list of ``(batch, units)`` tensors) to ``(output, new_states)``. Built-in cells split that
into ``input_projection`` (done for all time steps at once by ``RNN``) and ``recurrence`` (per step).

Weights are stored as PyTorch's ``_VF`` recurrent kernels take them (``weight_ih (gates·units, input_dim)``,
``weight_hh (gates·units, units)``, gates in PyTorch's order), so the fused path uses them without copies;
``get_weights``/``set_weights`` speak Keras's layouts (``kernel (input_dim, gates·units)``).
"""

import numpy as np
import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.engine.layer import Layer
from lamina.ops.arguments import check_fraction, check_int


class GateLayout:
    """A Keras ``(..., gates·units)`` weight stored with its gate blocks reordered and, for 2-D kernels,
    transposed: ``storage = reorder(keras).T``."""

    def __init__(self, order, transpose):
        self.order = tuple(order)
        self.inverse = tuple(int(i) for i in np.argsort(order))
        self.transpose = transpose

    @staticmethod
    def _reorder(tensor, order):
        if order == tuple(range(len(order))):
            return tensor
        chunks = tensor.chunk(len(order), -1)
        return torch.cat([chunks[i] for i in order], -1)

    def from_keras(self, tensor):
        tensor = self._reorder(tensor, self.order)
        return tensor.t() if self.transpose else tensor

    def to_keras(self, tensor):
        return self._reorder(tensor.t() if self.transpose else tensor, self.inverse)


def initial_cell_state(cell, batch_size, dtype, device):
    """A cell's starting state: its own ``get_initial_state``, else zeros shaped like ``state_size``."""
    make = getattr(cell, "get_initial_state", None)
    if make is not None:
        return make(batch_size=batch_size)
    sizes = cell.state_size
    if isinstance(sizes, int):
        return torch.zeros(batch_size, sizes, dtype=dtype, device=device)
    return [torch.zeros(batch_size, size, dtype=dtype, device=device) for size in sizes]


_STEP_METHODS = ("call", "recurrence", "input_projection")


class RecurrentCell(Layer):
    """Shared state and weights of SimpleRNNCell, LSTMCell and GRUCell.

    Subclasses set ``gates`` (weight blocks per unit), ``gate_order`` (Keras block i stored at position
    ``gate_order[i]``), ``fused_op`` (the ``torch._VF`` kernel, or None) and implement ``recurrence``.
    """

    gates = 1
    gate_order = (0,)
    # Whether RNN may run the cell's step as PyTorch's fused kernel. Built-in cells say so; a subclass that
    # redefines the step (call, recurrence or input_projection) computes something else and is not fused.
    fusable = False
    # The fused kernels take bias_ih and bias_hh; Keras has one bias (except GRU reset_after): zeros for hh.
    zero_recurrent_bias = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "fusable" not in cls.__dict__ and any(name in cls.__dict__ for name in _STEP_METHODS):
            cls.fusable = False

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.units = check_int(units, "units", type(self).__name__, minimum=1)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self._set_weight_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        self._set_weight_options("recurrent", recurrent_initializer, recurrent_regularizer, recurrent_constraint)
        self._set_weight_options("bias", bias_initializer, bias_regularizer, bias_constraint)
        self.dropout = float(check_fraction(dropout, "dropout", type(self).__name__))
        self.recurrent_dropout = float(check_fraction(recurrent_dropout, "recurrent_dropout", type(self).__name__))
        self.seed = seed
        self._generator = None
        # (input mask, recurrent mask) shared by every step of one sequence, set by RNN.
        self.sequence_dropout_masks = None

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        width = self.gates * self.units
        self.kernel = self.add_weight(
            name="kernel", shape=(input_dim, width), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            layout=GateLayout(self.gate_order, transpose=True))
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(self.units, width), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            layout=GateLayout(self.gate_order, transpose=True))
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=self.bias_shape(), initializer=self.make_bias_initializer(),
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                layout=GateLayout(self.gate_order, transpose=False))
            if self.zero_recurrent_bias:
                self.register_buffer("zero_bias_hh", torch.zeros(width, dtype=self.bias.dtype), persistent=False)
        else:
            self.bias = None

    def bias_shape(self):
        return (self.gates * self.units,)

    def make_bias_initializer(self):
        return self.bias_initializer

    @property
    def input_bias(self):
        return self.bias

    @property
    def recurrent_bias(self):
        return self.zero_bias_hh if self.use_bias else None

    def fused_params(self):
        """``[weight_ih, weight_hh(, bias_ih, bias_hh)]`` views of the stored weights for ``torch._VF``."""
        if not self.use_bias:
            return [self.kernel, self.recurrent_kernel]
        return [self.kernel, self.recurrent_kernel, self.input_bias, self.recurrent_bias]

    def fused_op(self):
        """The ``torch._VF`` kernel computing this cell exactly, or None."""
        return None

    # ------------------------------------------------------------------ dropout
    def _random_keep_mask(self, shape, rate, like):
        if self.seed is not None and (self._generator is None or self._generator.device != like.device):
            self._generator = torch.Generator(like.device).manual_seed(int(self.seed))
        keep = torch.empty(shape, dtype=like.dtype, device=like.device).bernoulli_(1.0 - rate,
                                                                                  generator=self._generator)
        return keep / (1.0 - rate)

    @property
    def drops_out(self):
        """Whether training draws dropout masks (a rate strictly between 0 and 1)."""
        return 0.0 < self.dropout < 1.0 or 0.0 < self.recurrent_dropout < 1.0

    def make_dropout_masks(self, batch, like, training):
        """(input mask ``(batch, input_dim)``, recurrent mask ``(batch, units)``) for one sequence:
        scaled Bernoulli keeps (the same at every step, as Keras), or None when unused."""
        if not training:
            return None, None
        input_mask = self._random_keep_mask((batch, self.kernel.shape[1]), self.dropout, like) \
            if 0.0 < self.dropout < 1.0 else None
        recurrent_mask = self._random_keep_mask((batch, self.units), self.recurrent_dropout, like) \
            if 0.0 < self.recurrent_dropout < 1.0 else None
        return input_mask, recurrent_mask

    # ------------------------------------------------------------------ computation
    def input_projection(self, inputs, input_mask=None):
        """``inputs @ kernel + bias`` for ``(batch, [time,] input_dim)`` inputs, in stored gate order."""
        if input_mask is not None:
            inputs = inputs * (input_mask.unsqueeze(1) if inputs.dim() == 3 else input_mask)
        return torch.nn.functional.linear(inputs, self.kernel, self.input_bias)

    def recurrence(self, projected, states, recurrent_mask=None):
        """One step from projected inputs ``(batch, gates·units)``; returns ``(output, new_states)``."""
        raise NotImplementedError

    def call(self, inputs, states, training=None):
        states = [torch.as_tensor(s, dtype=inputs.dtype, device=inputs.device)
                  for s in (states if isinstance(states, (list, tuple)) else [states])]
        masks = self.sequence_dropout_masks or self.make_dropout_masks(inputs.shape[0], inputs, training)
        return self.recurrence(self.input_projection(inputs, masks[0]), states, masks[1])

    def get_initial_state(self, batch_size=None):
        return [torch.zeros(batch_size, size, dtype=self._input_torch_dtype, device=self._device())
                for size in ([self.state_size] if isinstance(self.state_size, int) else self.state_size)]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
