"""LocallyConnected1D, LocallyConnected2D (Keras 2, removed in Keras 3, kept by lamina): a convolution
whose weights are not shared, one kernel per output position. Keras 2 ``implementation=1`` layouts:
kernel (output_positions, prod(kernel_size)·in_channels, filters), bias (*output_lengths, filters)."""

import math

import torch

from lamina.layers.convolutional.base_conv import BaseConvolution
from lamina.ops import arguments
from lamina.registry import register_builtin


class BaseLocallyConnected(BaseConvolution):
    """Unshared-weight N-D convolution, "valid" padding (Keras 2's ``implementation=1``).

    Each output position p computes ``patch_p · kernel[p] + bias[p]``, where ``patch_p`` flattens the
    receptive field in (*kernel, channels) order for channels_last and (channels, *kernel) order for
    channels_first, as Keras 2 did. With channels_first, Keras 2 added the bias (*out, filters)
    reshaped — not transposed — to (filters, *out); lamina does the same so weights load unchanged.

    Args:
        filters, kernel_size, strides, data_format, activation, use_bias, kernel_/bias_ initializer,
        regularizer, constraint, activity_regularizer: as Keras 2.
        padding: "valid" only (Keras 2 allowed "same" only with implementations 2 and 3).
        implementation: 1 (Keras 2's other implementations use other weight layouts).

    Input: (batch, *spatial, channels) (channels_last) or (batch, channels, *spatial); the spatial
    lengths must be known when the layer is built.
    """

    padding_modes = ("valid",)
    config_keys = ("filters", "kernel_size", "strides", "padding", "data_format", "activation", "use_bias",
                   "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                   "activity_regularizer", "kernel_constraint", "bias_constraint", "implementation")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, implementation=1, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, 1, activation, use_bias, bias_initializer,
                         bias_regularizer, bias_constraint, activity_regularizer, **kwargs)
        self.filters = arguments.check_positive_int(filters, "filters", self._label)
        if implementation != 1:
            raise ValueError(f"{self._label}: only `implementation=1` (Keras 2's default weight layout) is "
                             f"supported. Received: implementation={implementation!r}")
        self.implementation = implementation
        self._set_weight_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)

    def _built_axes(self, input_shape):
        return {axis: input_shape[axis] for axis in range(1, self.rank + 2)}  # weights per position

    def _build_weights(self, channels, input_shape):
        spatial = self._spatial(input_shape)
        if None in spatial:
            raise ValueError(f"{self._label}: the spatial dimensions of the inputs must be known, since each "
                             f"output position has its own weights. Received: input_shape={tuple(input_shape)}")
        self._output_lengths = tuple(self._output_length(axis, n) for axis, n in enumerate(spatial))
        positions = math.prod(self._output_lengths)
        self.kernel = self._add_configured_weight("kernel", (positions, math.prod(self.kernel_size) * channels, self.filters),
                                       "kernel", None)
        self.bias = self._add_configured_weight("bias", self._output_lengths + (self.filters,), "bias", None) \
            if self.use_bias else None
        # Unfolded patches are (N, C, *out, *k): reorder to (N, *out, *k, C) or (N, *out, C, *k).
        rank = self.rank
        outputs, kernel = tuple(range(2, 2 + rank)), tuple(range(2 + rank, 2 + 2 * rank))
        self._patch_order = (0,) + outputs + (kernel + (1,) if self._channels_last else (1,) + kernel)

    def _convolve(self, x):
        patches = x
        for axis in range(self.rank):
            patches = patches.unfold(2 + axis, self.kernel_size[axis], self.strides[axis])
        patches = patches.permute(self._patch_order).reshape(x.shape[0], self.kernel.shape[0], -1)
        outputs = torch.einsum("npi,pio->npo", patches, self.kernel)
        if self.bias is not None:
            outputs = outputs + (self.bias.reshape(self.kernel.shape[0], self.filters) if self._channels_last
                                 else self.bias.reshape(self.filters, -1).t())
        return outputs.reshape((x.shape[0],) + self._output_lengths + (self.filters,)).movedim(-1, 1)


@register_builtin("keras.layers")
class LocallyConnected1D(BaseLocallyConnected):
    """Unshared-weight 1D convolution over (batch, steps, channels) or (batch, channels, steps).

    >>> LocallyConnected1D(4, 3)(torch.zeros(2, 10, 5)).shape
    torch.Size([2, 8, 4])
    """

    rank = 1


@register_builtin("keras.layers")
class LocallyConnected2D(BaseLocallyConnected):
    """Unshared-weight 2D convolution over (batch, rows, cols, channels) or (batch, channels, rows, cols).

    >>> LocallyConnected2D(4, 3)(torch.zeros(2, 6, 5, 3)).shape
    torch.Size([2, 4, 3, 4])
    """

    rank = 2
