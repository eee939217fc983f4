"""ConvLSTMCell and ConvLSTM1D/2D/3D: LSTMs whose input and recurrent transforms are convolutions.

Sequences ``(batch, time, *spatial, channels)`` (channels_last) or ``(batch, time, channels, *spatial)``
(channels_first); states and outputs are images ``(batch, *spatial_out, filters)`` (or channels
first), ``spatial_out`` being the input convolution's output size (``padding``, ``strides``,
``dilation_rate``). The recurrent convolution is "same" with stride 1 and no dilation, as Keras's.

Weights (Keras layouts, ``get_weights`` order): kernel ``(*kernel_size, channels, 4·filters)``,
recurrent_kernel ``(*kernel_size, filters, 4·filters)``, bias ``(4·filters,)``, gates i, f, c, o;
stored as PyTorch's conv weights ``(4·filters, in, *kernel_size)``, in channels_last memory format
for channels_last data.

Speed: ``RNN`` projects the inputs of all time steps with one convolution over ``(batch·time, ...)``;
each step then runs one recurrent convolution. channels_last images reach PyTorch's kernels as
channels_last views, and their gates are the last axis as an LSTM's: no layout round trips.
Dropout follows Keras: four masks (one per gate) of the step input's (or the state's) full shape,
fixed over the sequence; the four masked copies run as one grouped convolution.
"""

import torch
import torch.nn.functional as F

from lamina import activations
from lamina.engine.input_spec import InputSpec
from lamina.layers.convolutional.base_conv import CONV_FUNCTIONS, torch_kernel_layout
from lamina.layers.rnn.lstm import LSTMCell
from lamina.layers.rnn.recurrent_layer import OwnCellRNN
from lamina.ops import arguments
from lamina.ops.padding import conv_output_length, conv_padding, same_padding, split_padding
from lamina.registry import register_builtin

_GATES = 4
# Recurrent activations that act on each value alone, so they may run over all four gates at once.
_ELEMENTWISE = frozenset((activations.sigmoid, activations.hard_sigmoid, activations.tanh, activations.relu,
                          activations.linear, activations.softsign, activations.hard_tanh))


@register_builtin("keras.layers")
class ConvLSTMCell(LSTMCell):
    """One ConvLSTM step on images of ``rank`` spatial dimensions (Keras's ``ConvLSTMCell``).

    Args:
        rank: 1, 2 or 3.
        filters: channels of the states and the output.
        kernel_size, strides, dilation_rate: an int or ``rank`` ints, for the input convolution
            (``strides > 1`` excludes ``dilation_rate > 1``); the recurrent one uses ``kernel_size``.
        padding: "valid" or "same" (case-insensitive), for the input convolution.
        data_format: "channels_last" or "channels_first" (None: ``image_data_format()``).
        The other arguments are LSTMCell's (``unit_forget_bias`` starts the forget bias at 1).
    Call: ``cell(inputs, [h, c], training=None)`` with inputs ``(batch, *spatial, channels)``; returns
    ``(h, [h, c])``, each ``(batch, *spatial_out, filters)`` (channels first for channels_first).
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        owner = type(self).__name__
        if rank not in (1, 2, 3):
            raise ValueError(f"{owner}: `rank` must be 1, 2 or 3 (the spatial dimensions). Received: rank={rank!r}")
        filters = arguments.check_positive_int(filters, "filters", owner)
        super().__init__(filters, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, unit_forget_bias=unit_forget_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.rank, self.filters = rank, filters
        self.kernel_size = arguments.normalize_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = arguments.normalize_tuple(strides, rank, "strides", owner)
        self.dilation_rate = arguments.normalize_tuple(dilation_rate, rank, "dilation_rate", owner)
        self.padding = arguments.normalize_padding(padding, owner)
        self.data_format = arguments.normalize_data_format(data_format, owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{owner}: `strides > 1` is not supported together with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")
        self._channels_last = self.data_format == "channels_last"
        self._conv = CONV_FUNCTIONS[rank]
        self.state_shape = None  # (*spatial_out, filters) or (filters, *spatial_out), set by build

    # ------------------------------------------------------------------ shapes
    def _split(self, shape):
        """(spatial, channels) of a shape with a leading batch axis."""
        shape = tuple(shape)
        return (shape[1:-1], shape[-1]) if self._channels_last else (shape[2:], shape[1])

    def step_shapes(self, step_input_shape):
        """(output shape, [h shape, c shape]) for inputs ``(batch, *spatial, channels)`` (or channels first)."""
        if len(step_input_shape) != self.rank + 2:
            raise ValueError(f"ConvLSTMCell '{self.name}': expected inputs of rank {self.rank + 2} (batch, "
                             f"{'spatial…, channels' if self._channels_last else 'channels, spatial…'}). "
                             f"Received: input_shape={tuple(step_input_shape)}")
        spatial, _ = self._split(step_input_shape)
        lengths = tuple(conv_output_length(n, k, s, d, self.padding)
                        for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate))
        if any(n is not None and n <= 0 for n in lengths):
            raise ValueError(f"ConvLSTMCell '{self.name}': the states would have a non-positive spatial size "
                             f"{lengths}: the input is too small for kernel_size={self.kernel_size}, "
                             f"strides={self.strides}, dilation_rate={self.dilation_rate}, padding="
                             f"{self.padding!r}. Received: input_shape={tuple(step_input_shape)}")
        batch = step_input_shape[0]
        shape = (batch, *lengths, self.filters) if self._channels_last else (batch, self.filters, *lengths)
        return shape, [shape, shape]

    compute_output_shape = step_shapes  # Keras's cell API

    def build(self, input_shape):
        state_shape = self.step_shapes(input_shape)[0][1:]
        spatial, channels = self._split(input_shape)
        if None in spatial or channels is None:
            raise ValueError(f"ConvLSTMCell '{self.name}': ConvLSTM layers need static spatial dimensions and a "
                             f"known channel dimension. Received: input_shape={tuple(input_shape)}")
        self.state_shape = state_shape
        self._step_input_shape = tuple(input_shape[1:])
        layout = torch_kernel_layout(self.rank, self._channels_last)
        width = _GATES * self.filters
        self.kernel = self._add_configured_weight("kernel", self.kernel_size + (channels, width), "kernel", layout)
        self.recurrent_kernel = self._add_configured_weight(
            "recurrent_kernel", self.kernel_size + (self.filters, width), "recurrent", layout)
        self.bias = self.add_weight(name="bias", shape=(width,), initializer=self.make_bias_initializer(),
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None
        # Each convolution's padding: the symmetric part goes to the kernel, the odd "same" cell is padded.
        self._input_padding = split_padding([conv_padding(n, k, s, d, self.padding) for n, k, s, d in
                                             zip(spatial, self.kernel_size, self.strides, self.dilation_rate)])
        state_spatial, _ = self._split((None, *self.state_shape))
        self._recurrent_padding = split_padding([same_padding(n, k, 1) for n, k in
                                                 zip(state_spatial, self.kernel_size)])
        self.input_spec = InputSpec(shape=(None, *self._step_input_shape))

    def get_initial_state(self, batch_size=None):
        return [torch.zeros((batch_size, *self.state_shape), dtype=self._input_torch_dtype, device=self._device())
                for _ in range(2)]

    # ------------------------------------------------------------------ computation
    def _convolve(self, x, weight, bias, strides, dilation, padding, groups, added=None):
        """A convolution of images ``x`` in the layer's data format (plus ``added``), in that format."""
        explicit, symmetric = padding
        if self._channels_last:
            x = x.movedim(-1, 1)  # a channels_last view, no copy
        if explicit is not None:
            x = F.pad(x, explicit)
        y = self._conv(x, weight, bias, strides, symmetric, dilation, groups)
        if added is not None:
            # In place on the convolution's own output (its backward doesn't need it; not on a view of it,
            # which autograd would have to copy).
            y.add_(added.movedim(-1, 1) if self._channels_last else added)
        return y.movedim(1, -1) if self._channels_last else y

    def _channel_axis(self, x):
        return x.dim() - 1 if self._channels_last else x.dim() - 1 - self.rank

    def _masked_copies(self, x, masks):
        """The four gates' dropout-masked copies of ``x``, side by side on the channel axis (a grouped conv's
        input); ``x`` itself (one group) without masks. Masks ``(4, batch, *sample)`` broadcast over time."""
        if masks is None:
            return x, 1
        masks = masks.view(masks.shape[:2] + (1,) * (x.dim() - masks.dim() + 1) + masks.shape[2:])
        return torch.cat([x * mask for mask in masks], self._channel_axis(x)), _GATES

    def input_projection(self, inputs, input_mask=None):
        """``conv(inputs, kernel) + bias`` for inputs ``(batch, [time,] *spatial, channels)`` (or channels
        first), every time step in one convolution; ``(batch, [time,] *spatial_out, 4·filters)``."""
        x, groups = self._masked_copies(inputs, input_mask)
        leading = x.shape[:x.dim() - self.rank - 1]
        y = self._convolve(x.flatten(0, len(leading) - 1) if len(leading) > 1 else x, self.kernel, self.bias,
                           self.strides, self.dilation_rate, self._input_padding, groups)
        return y.unflatten(0, leading) if len(leading) > 1 else y

    def recurrence(self, projected, states, recurrent_mask=None):
        h, c = states
        previous, groups = self._masked_copies(h, recurrent_mask)
        gates = self._convolve(previous, self.recurrent_kernel, None, 1, 1, self._recurrent_padding, groups,
                               added=projected)
        axis = self._channel_axis(gates)
        # One split (its backward is one concatenation); i and f are adjacent, activated in one pass.
        input_forget, cell, output = gates.split([2 * self.filters, self.filters, self.filters], axis)
        i, f = (self.recurrent_activation(input_forget).chunk(2, axis) if self.recurrent_activation in _ELEMENTWISE
                else map(self.recurrent_activation, input_forget.chunk(2, axis)))
        c = torch.addcmul(f * c, i, self.activation(cell))
        h = self.recurrent_activation(output) * self.activation(c)
        return h, [h, c]

    def make_dropout_masks(self, batch, like, training):
        """(input masks ``(4, batch, *step_input)``, recurrent masks ``(4, batch, *state)``), or None each."""
        if not training:
            return None, None
        input_mask = self._random_keep_mask((_GATES, batch, *self._step_input_shape), self.dropout, like) \
            if 0.0 < self.dropout < 1.0 else None
        recurrent_mask = self._random_keep_mask((_GATES, batch, *self.state_shape), self.recurrent_dropout, like) \
            if 0.0 < self.recurrent_dropout < 1.0 else None
        return input_mask, recurrent_mask

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        del config["units"]
        return {**config, "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format, "dilation_rate": self.dilation_rate}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.setdefault("rank", len(config["kernel_size"]))  # Keras writes no rank: kernel_size tells it
        return cls(**config)


class ConvLSTM(OwnCellRNN):
    """The ConvLSTM layers' base: an RNN over a ``ConvLSTMCell`` of ``rank`` spatial dimensions.

    Args: ConvLSTMCell's (but ``rank``), ``activity_regularizer``, and RNN's ``return_sequences``,
    ``return_state``, ``go_backwards``, ``stateful`` (also ``unroll``, ``zero_output_for_mask``).
    Input: ``(batch, time, *spatial, channels)`` (channels_last) or ``(batch, time, channels, *spatial)``;
    the spatial dimensions must be static, time may vary. Output: ``(batch, *spatial_out, filters)``,
    with ``return_sequences`` ``(batch, time, *spatial_out, filters)`` (channels first for channels_first);
    with ``return_state`` also ``h, c`` of the output's step shape. Masks ``(batch, time)``, initial
    states ``[h, c]``, stateful carry and dropout follow the RNN layers (docs/recurrent.md).
    """

    rank = None
    cell_name = "conv_lstm_cell"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        cell = ConvLSTMCell(
            self.rank, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, name=self.cell_name, dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.input_spec = InputSpec(ndim=self.rank + 3)


@register_builtin("keras.layers")
class ConvLSTM1D(ConvLSTM):
    """1D convolutional LSTM over ``(batch, time, steps, channels)`` (or ``(batch, time, channels, steps)``).

    >>> ConvLSTM1D(4, 3, padding="same")(torch.zeros(2, 5, 8, 3)).shape
    torch.Size([2, 8, 4])
    """

    rank = 1


@register_builtin("keras.layers")
class ConvLSTM2D(ConvLSTM):
    """2D convolutional LSTM over ``(batch, time, rows, cols, channels)`` (or channels first).

    >>> ConvLSTM2D(4, 3, padding="same", return_sequences=True)(torch.zeros(2, 5, 8, 8, 1)).shape
    torch.Size([2, 5, 8, 8, 4])
    """

    rank = 2


@register_builtin("keras.layers")
class ConvLSTM3D(ConvLSTM):
    """3D convolutional LSTM over ``(batch, time, d1, d2, d3, channels)`` (or channels first).

    >>> ConvLSTM3D(2, 3)(torch.zeros(1, 3, 5, 5, 5, 1)).shape
    torch.Size([1, 3, 3, 3, 2])
    """

    rank = 3
