"""SeparableConv1D, SeparableConv2D: a depthwise convolution followed by a pointwise (1×1)
convolution with the bias. Keras layouts: depthwise (*k, in, depth_multiplier), pointwise
(1…, in·depth_multiplier, filters); stored in PyTorch's layouts."""

from lamina.engine.weights import read_weight
from lamina.layers.convolutional.base_conv import CONV_FUNCTIONS, BaseConvolution, torch_kernel_layout
from lamina.layers.convolutional.depthwise_conv import depthwise_convolve, depthwise_layout
from lamina.ops import arguments
from lamina.registry import register_builtin


class BaseSeparableConv(BaseConvolution):
    """An N-D depthwise-separable convolution.

    Args:
        filters: output channels of the pointwise step.
        kernel_size, strides, dilation_rate: of the depthwise step; an int or ``rank`` ints.
        padding: "valid" or "same" (case-insensitive), applied in the depthwise step.
        depth_multiplier: depthwise output channels per input channel.
        data_format, activation, use_bias, depthwise_/pointwise_/bias_ initializer, regularizer,
        constraint, activity_regularizer: as in Keras.

    Input: (batch, *spatial, channels) (channels_last) or (batch, channels, *spatial).
    Output: the same layout with ``filters`` channels.
    """

    config_keys = ("depth_multiplier", "filters", "kernel_size", "strides", "padding", "data_format",
                   "dilation_rate", "activation", "use_bias", "depthwise_initializer", "pointwise_initializer",
                   "bias_initializer", "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
                   "activity_regularizer", "depthwise_constraint", "pointwise_constraint", "bias_constraint")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, bias_constraint, activity_regularizer, **kwargs)
        self.filters = arguments.check_positive_int(filters, "filters", self._label)
        self.depth_multiplier = arguments.check_positive_int(depth_multiplier, "depth_multiplier", self._label)
        self._set_weight_options("depthwise", depthwise_initializer, depthwise_regularizer, depthwise_constraint)
        self._set_weight_options("pointwise", pointwise_initializer, pointwise_regularizer, pointwise_constraint)
        self._pointwise_conv = CONV_FUNCTIONS[self.rank]

    def _build_weights(self, channels, input_shape):
        self.depthwise_kernel = self._add_configured_weight("depthwise_kernel",
                                                 self.kernel_size + (channels, self.depth_multiplier),
                                                 "depthwise", depthwise_layout(self.rank))
        self.pointwise_kernel = self._add_configured_weight("pointwise_kernel",
                                                 (1,) * self.rank + (channels * self.depth_multiplier, self.filters),
                                                 "pointwise", torch_kernel_layout(self.rank, self._channels_last))
        self._add_bias(self.filters)

    def _convolve(self, x):
        return self._pointwise_conv(depthwise_convolve(self, x, read_weight(self, "depthwise_kernel"), None),
                                    read_weight(self, "pointwise_kernel"), read_weight(self, "bias"))


@register_builtin("keras.layers")
class SeparableConv1D(BaseSeparableConv):
    """1D separable convolution over (batch, steps, channels) or (batch, channels, steps).

    >>> SeparableConv1D(8, 3)(torch.zeros(2, 10, 4)).shape
    torch.Size([2, 8, 8])
    """

    rank = 1


@register_builtin("keras.layers")
class SeparableConv2D(BaseSeparableConv):
    """2D separable convolution over (batch, rows, cols, channels) or (batch, channels, rows, cols).

    >>> SeparableConv2D(8, 3, padding="same")(torch.zeros(2, 8, 8, 4)).shape
    torch.Size([2, 8, 8, 8])
    """

    rank = 2


# Keras's alternative names: the same classes, found under these names in configs too.
SeparableConvolution1D = register_builtin("keras.layers", name="SeparableConvolution1D")(SeparableConv1D)
SeparableConvolution2D = register_builtin("keras.layers", name="SeparableConvolution2D")(SeparableConv2D)
