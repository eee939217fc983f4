"""DepthwiseConv1D, DepthwiseConv2D: each input channel convolved with its own ``depth_multiplier``
filters, output channel c·depth_multiplier + m. Keras kernel layout (*kernel_size, in_channels,
depth_multiplier), stored as (in_channels, depth_multiplier, *k) so that PyTorch's grouped-kernel
weight (in·dm, 1, *k) is a view of it."""

from lamina.layers.convolutional.base_conv import CONV_FUNCTIONS, BaseConvolution
from lamina.engine.layer import Permuted
from lamina.engine.weights import read_weight
from lamina.ops import arguments
from lamina.registry import register_builtin


def depthwise_layout(rank):
    """Keras (*k, in, dm) stored as (in, dm, *k)."""
    return Permuted((rank, rank + 1) + tuple(range(rank)))


def depthwise_convolve(layer, x, kernel, bias):
    """The depthwise convolution of ``x`` (N, C, *spatial) with ``kernel`` stored as (C, dm, *k)."""
    x, padding = layer._padded(x)
    weight = kernel.reshape((-1, 1) + layer.kernel_size)
    return CONV_FUNCTIONS[layer.rank](x, weight, bias, layer.strides, padding, layer.dilation_rate, x.shape[1])


class BaseDepthwiseConv(BaseConvolution):
    """An N-D depthwise convolution (PyTorch's grouped kernel with groups = input channels).

    Args:
        kernel_size, strides, dilation_rate: an int or a tuple of ``rank`` ints.
        padding: "valid" or "same" (case-insensitive).
        depth_multiplier: output channels per input channel.
        data_format, activation, use_bias, depthwise_/bias_ initializer, regularizer, constraint,
        activity_regularizer: as in Keras.

    Input: (batch, *spatial, channels) (channels_last) or (batch, channels, *spatial).
    Output: the same layout with channels · depth_multiplier channels.
    """

    config_keys = ("depth_multiplier", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                   "activation", "use_bias", "depthwise_initializer", "bias_initializer", "depthwise_regularizer",
                   "bias_regularizer", "activity_regularizer", "depthwise_constraint", "bias_constraint")

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, bias_constraint, activity_regularizer, **kwargs)
        self.depth_multiplier = arguments.check_positive_int(depth_multiplier, "depth_multiplier", self._label)
        self._set_weight_options("depthwise", depthwise_initializer, depthwise_regularizer, depthwise_constraint)

    def _output_channels(self, channels):
        return None if channels is None else channels * self.depth_multiplier

    def _build_weights(self, channels, input_shape):
        self.kernel = self._add_configured_weight("kernel", self.kernel_size + (channels, self.depth_multiplier),
                                       "depthwise", depthwise_layout(self.rank))
        self._add_bias(channels * self.depth_multiplier)

    def _convolve(self, x):
        return depthwise_convolve(self, x, read_weight(self, "kernel"), read_weight(self, "bias"))


@register_builtin("keras.layers")
class DepthwiseConv1D(BaseDepthwiseConv):
    """1D depthwise convolution over (batch, steps, channels) or (batch, channels, steps).

    >>> DepthwiseConv1D(3, depth_multiplier=2)(torch.zeros(2, 10, 4)).shape
    torch.Size([2, 8, 8])
    """

    rank = 1


@register_builtin("keras.layers")
class DepthwiseConv2D(BaseDepthwiseConv):
    """2D depthwise convolution over (batch, rows, cols, channels) or (batch, channels, rows, cols).

    >>> DepthwiseConv2D(3, padding="same")(torch.zeros(2, 8, 8, 4)).shape
    torch.Size([2, 8, 8, 4])
    """

    rank = 2
