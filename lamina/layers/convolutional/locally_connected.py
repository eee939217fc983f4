"""LocallyConnected1D, LocallyConnected2D (Keras 2, removed in Keras 3, kept by lamina): a convolution
whose weights are not shared, one kernel per output position, in Keras 2's three weight layouts.

- ``implementation=1``: kernel ``(output_positions, prod(kernel_size)·in_channels, filters)``; "valid" only.
- ``implementation=2``: a dense kernel over every (input cell, output cell) pair, masked to the receptive
  fields: ``(*input_lengths, in_channels, *output_lengths, filters)`` (channels_last) or
  ``(in_channels, *input_lengths, filters, *output_lengths)`` (channels_first).
- ``implementation=3``: only the connected pairs, a 1-D kernel in the order of the sorted
  ``(output index, input index)`` pairs of the flattened input and output.

Bias ``(*output_lengths, filters)`` in all three. Keras 2's "same" (implementations 2 and 3) centres the
receptive field on ``position·stride`` (cells ``[p·s − k//2, p·s + k − k//2)`` clipped to the input), which
for even kernels differs from a convolution's "same".
"""

import math

import numpy as np
import torch

from lamina.layers.convolutional.base_conv import BaseConvolution
from lamina.ops import arguments
from lamina.registry import register_builtin

IMPLEMENTATIONS = (1, 2, 3)


def receptive_fields(input_lengths, kernel_size, strides, padding):
    """Boolean ``(*input_lengths, *output_lengths)``: which input cells each output cell reads (Keras 2)."""
    axes = []
    for n, k, s in zip(input_lengths, kernel_size, strides):
        outputs = (n - k + s) // s if padding == "valid" else (n + s - 1) // s
        centers = np.arange(outputs) * s + (k // 2 if padding == "valid" else 0)
        cells = np.arange(n)[:, None]
        axes.append(((cells >= np.maximum(centers - k // 2, 0)) & (cells < np.minimum(centers + k - k // 2, n)))
                    .astype(np.int8))
    fields = axes[0]
    for axis in axes[1:]:  # (*in_so_far, *out_so_far) x (in_axis, out_axis) -> interleave in then out
        rank = fields.ndim // 2
        fields = np.einsum(fields, list(range(2 * rank)), axis, [2 * rank, 2 * rank + 1],
                           list(range(rank)) + [2 * rank] + list(range(rank, 2 * rank)) + [2 * rank + 1])
    return fields > 0


class BaseLocallyConnected(BaseConvolution):
    """Unshared-weight N-D convolution in Keras 2's weight layouts (``implementation`` 1, 2 or 3).

    Implementation 1 gathers each receptive field (in (*kernel, channels) order for channels_last and
    (channels, *kernel) for channels_first, as Keras 2 did) and multiplies it by its position's kernel;
    2 and 3 run one matmul of the flattened input by the (masked or scattered) dense weight matrix, as
    Keras 2 did. With channels_first, Keras 2 added the bias (*out, filters) reshaped — not transposed — to
    (filters, *out); lamina does the same so weights load unchanged.

    Args:
        filters, kernel_size, strides, data_format, activation, use_bias, kernel_/bias_ initializer,
        regularizer, constraint, activity_regularizer: as Keras 2.
        padding: "valid", or "same" with implementations 2 and 3 (as Keras 2).
        implementation: 1, 2 or 3: the weight layout (see the module's docstring).

    Input: (batch, *spatial, channels) (channels_last) or (batch, channels, *spatial); the spatial
    lengths must be known when the layer is built.
    """

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
        if isinstance(implementation, bool) or implementation not in IMPLEMENTATIONS:
            raise ValueError(f"{self._label}: `implementation` must be 1, 2 or 3 (Keras 2's weight layouts). "
                             f"Received: implementation={implementation!r}")
        if implementation == 1 and self.padding != "valid":
            raise ValueError(f"{self._label}: padding='same' needs implementation 2 or 3, as in Keras 2. "
                             f"Received: padding={padding!r}, implementation=1")
        self.implementation = implementation
        self._set_weight_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)

    def _built_axes(self, input_shape):
        return {axis: input_shape[axis] for axis in range(1, self.rank + 2)}  # weights per position

    def _output_length(self, axis, length):
        if length is None:
            return None
        k, s = self.kernel_size[axis], self.strides[axis]
        return (length - k + s) // s if self.padding == "valid" else (length + s - 1) // s

    def _build_weights(self, channels, input_shape):
        spatial = self._spatial(input_shape)
        if None in spatial:
            raise ValueError(f"{self._label}: the spatial dimensions of the inputs must be known, since each "
                             f"output position has its own weights. Received: input_shape={tuple(input_shape)}")
        self._output_lengths = tuple(self._output_length(axis, n) for axis, n in enumerate(spatial))
        {1: self._build_gathered, 2: self._build_masked, 3: self._build_sparse}[self.implementation](
            channels, tuple(spatial))
        self.bias = self._add_configured_weight("bias", self._output_lengths + (self.filters,), "bias", None) \
            if self.use_bias else None

    def _build_gathered(self, channels, spatial):
        positions = math.prod(self._output_lengths)
        self.kernel = self._add_configured_weight(
            "kernel", (positions, math.prod(self.kernel_size) * channels, self.filters), "kernel", None)
        # Unfolded patches are (N, C, *out, *k): reorder to (N, *out, *k, C) or (N, *out, C, *k).
        rank = self.rank
        outputs, kernel = tuple(range(2, 2 + rank)), tuple(range(2 + rank, 2 + 2 * rank))
        self._patch_order = (0,) + outputs + (kernel + (1,) if self._channels_last else (1,) + kernel)

    def _fields(self, spatial):
        return receptive_fields(spatial, self.kernel_size, self.strides, self.padding)

    def _build_masked(self, channels, spatial):
        fields = torch.from_numpy(self._fields(spatial).astype(np.float32))
        rank = self.rank
        if self._channels_last:
            shape = spatial + (channels,) + self._output_lengths + (self.filters,)
            mask = fields.reshape(spatial + (1,) + self._output_lengths + (1,))
        else:
            shape = (channels,) + spatial + (self.filters,) + self._output_lengths
            mask = fields.reshape((1,) + spatial + (1,) + self._output_lengths)
        self.kernel = self._add_configured_weight("kernel", shape, "kernel", None)
        self.register_buffer("kernel_mask", mask.to(self.kernel.dtype), persistent=False)
        self._matrix_shape = (math.prod(shape[:rank + 1]), math.prod(shape[rank + 1:]))

    def _build_sparse(self, channels, spatial):
        fields = self._fields(spatial)
        rank = self.rank
        by_output = np.moveaxis(fields, list(range(rank)), list(range(rank, 2 * rank)))  # (*out, *in)
        if self._channels_last:
            pattern = by_output.reshape(self._output_lengths + (1,) + spatial + (1,))
            full = self._output_lengths + (self.filters,) + spatial + (channels,)
        else:
            pattern = by_output.reshape((1,) + self._output_lengths + (1,) + spatial)
            full = (self.filters,) + self._output_lengths + (channels,) + spatial
        connected = np.broadcast_to(pattern, full).reshape(math.prod(full[:rank + 1]), -1)
        rows, columns = np.nonzero(connected)  # sorted (output index, input index) pairs, as Keras 2
        self._matrix_shape = connected.shape
        self.kernel = self._add_configured_weight("kernel", (len(rows),), "kernel", None)
        self.register_buffer("kernel_index", torch.from_numpy(rows * connected.shape[1] + columns),
                             persistent=False)

    def _convolve(self, x):
        if self.implementation == 1:
            return self._gathered(x)
        native = x.movedim(1, -1) if self._channels_last else x  # the input as its data format lays it out
        flat = native.reshape(x.shape[0], -1)
        if self.implementation == 2:
            outputs = flat @ (self.kernel * self.kernel_mask).reshape(self._matrix_shape)
        else:
            size = self._matrix_shape[0] * self._matrix_shape[1]
            weights = self.kernel.new_zeros(size).scatter(0, self.kernel_index, self.kernel)
            outputs = flat @ weights.reshape(self._matrix_shape).t()
        if self._channels_last:
            outputs = outputs.reshape((x.shape[0],) + self._output_lengths + (self.filters,))
            if self.bias is not None:
                outputs = outputs + self.bias
            return outputs.movedim(-1, 1)
        outputs = outputs.reshape((x.shape[0], self.filters) + self._output_lengths)
        return outputs if self.bias is None else outputs + self.bias.reshape((self.filters,) + self._output_lengths)

    def _gathered(self, x):
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
