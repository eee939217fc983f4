"""Conv1D, Conv2D, Conv3D: ``activation(conv(x, kernel) + bias)``, Keras kernel layout
(*kernel_size, in_channels // groups, filters), stored as PyTorch's (filters, in // groups, *k)."""

from lamina.engine.weights import read_weight
from lamina.layers.convolutional.base_conv import CONV_FUNCTIONS, BaseConvolution, torch_kernel_layout
from lamina.ops import arguments
from lamina.registry import register_builtin

_CONV_KEYS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
              "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
              "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint")


class BaseConv(BaseConvolution):
    """An N-D convolution (cross-correlation, as Keras and PyTorch), optionally grouped.

    Args:
        filters: number of output channels; divisible by ``groups``.
        kernel_size, strides, dilation_rate: an int or a tuple of ``rank`` ints.
        padding: "valid", "same" (output ceil(n / s), the odd padding cell after) or, for Conv1D,
            "causal" ((k - 1)·d cells before); case-insensitive. See docs/padding.md.
        data_format: "channels_last" (default from keras.json) or "channels_first".
        groups: input channels and filters split into this many independent groups.
        activation, use_bias, kernel_/bias_ initializer, regularizer, constraint,
        activity_regularizer: as in Keras.

    Input: (batch, *spatial, channels) for channels_last, (batch, channels, *spatial) otherwise.
    Output: the same layout with ``filters`` channels and the lengths of ``compute_output_shape``.
    """

    config_keys = _CONV_KEYS

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, bias_constraint, activity_regularizer, **kwargs)
        self.filters = arguments.check_positive_int(filters, "filters", self._label)
        self.groups = arguments.check_positive_int(groups, "groups", self._label)
        if self.filters % self.groups:
            raise ValueError(f"{self._label}: `filters` must be divisible by `groups`. "
                             f"Received: filters={self.filters}, groups={self.groups}")
        self._set_weight_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        self._conv = CONV_FUNCTIONS[self.rank]

    def _build_weights(self, channels, input_shape):
        if channels % self.groups:
            raise ValueError(f"{self._label}: the number of input channels must be divisible by `groups`. "
                             f"Received: groups={self.groups}, input channels={channels} "
                             f"(input_shape={tuple(input_shape)})")
        self.kernel = self._add_configured_weight("kernel", self.kernel_size + (channels // self.groups, self.filters),
                                       "kernel", torch_kernel_layout(self.rank, self._channels_last))
        self._add_bias(self.filters)

    def _convolve(self, x):
        x, padding = self._padded(x)
        return self._conv(x, read_weight(self, "kernel"), read_weight(self, "bias"), self.strides, padding, self.dilation_rate, self.groups)


@register_builtin("keras.layers")
class Conv1D(BaseConv):
    """1D convolution over (batch, steps, channels) (channels_last) or (batch, channels, steps).

    >>> Conv1D(32, 3, padding="causal", dilation_rate=2)(torch.zeros(4, 10, 8)).shape
    torch.Size([4, 10, 32])
    """

    rank = 1
    padding_modes = ("valid", "same", "causal")


@register_builtin("keras.layers")
class Conv2D(BaseConv):
    """2D convolution over (batch, rows, cols, channels) (channels_last) or (batch, channels, rows, cols).

    >>> Conv2D(32, 3, activation="relu")(torch.zeros(4, 10, 10, 128)).shape
    torch.Size([4, 8, 8, 32])
    """

    rank = 2


@register_builtin("keras.layers")
class Conv3D(BaseConv):
    """3D convolution over (batch, d1, d2, d3, channels) (channels_last) or (batch, channels, d1, d2, d3).

    >>> Conv3D(8, 3, padding="same")(torch.zeros(2, 6, 6, 6, 4)).shape
    torch.Size([2, 6, 6, 6, 8])
    """

    rank = 3


# Keras's alternative names: the same classes, found under these names in configs too.
Convolution1D = register_builtin("keras.layers", name="Convolution1D")(Conv1D)
Convolution2D = register_builtin("keras.layers", name="Convolution2D")(Conv2D)
Convolution3D = register_builtin("keras.layers", name="Convolution3D")(Conv3D)
