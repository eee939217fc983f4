"""One base for max and average pooling over 1, 2 or 3 spatial dimensions.

Inputs ``(batch, *spatial, channels)`` for ``channels_last`` or ``(batch, channels, *spatial)``
for ``channels_first``; outputs have the same layout with each spatial size
``ceil(n / s)`` for "same" and ``floor((n - k) / s) + 1`` for "valid".
``channels_last`` inputs reach PyTorch's kernels as channels-first views (a permute,
no copy), so a contiguous NHWC tensor is a ``channels_last``-format NCHW tensor.
"""

import torch
import torch.nn.functional as F

from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.ops.arguments import normalize_data_format, normalize_padding, normalize_tuple
from lamina.ops.padding import conv_output_length, flat_pad, same_padding, split_padding

_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


class BasePooling(Layer):
    """Pooling of ``rank`` spatial dimensions; subclasses set ``rank`` and ``mode`` ("max"/"average").

    Args:
        pool_size: int or tuple of ``rank`` ints, the window size.
        strides: int, tuple of ``rank`` ints, or None (defaults to ``pool_size``).
        padding: "valid" or "same" (case-insensitive). "same" pads as Keras: the odd cell
            after; max pooling pads with -inf, average pooling leaves padded cells out of the mean.
        data_format: "channels_last" or "channels_first"; None reads ``image_data_format()``.
    """

    rank = None
    mode = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", name)
        self.strides = normalize_tuple(pool_size if strides is None else strides, self.rank, "strides", name)
        self.padding = normalize_padding(padding, name)
        self.data_format = normalize_data_format(data_format, name)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._pool = (_MAX_POOL if self.mode == "max" else _AVG_POOL)[self.rank]
        self._windows_of_two = self.mode == "max" and max(self.pool_size) == 2

    def _spatial(self, shape):
        return tuple(shape[1:-1]) if self.data_format == "channels_last" else tuple(shape[2:])

    def compute_output_shape(self, input_shape):
        spatial = tuple(conv_output_length(n, k, s, 1, self.padding)
                        for n, k, s in zip(self._spatial(input_shape), self.pool_size, self.strides))
        if self.data_format == "channels_last":
            return (input_shape[0],) + spatial + (input_shape[-1],)
        return (input_shape[0], input_shape[1]) + spatial

    def build(self, input_shape):
        spatial = self.compute_output_shape(input_shape)
        if any(n is not None and n <= 0 for n in self._spatial(spatial)):
            raise ValueError(f"{type(self).__name__} '{self.name}': pool_size={self.pool_size} with "
                             f"padding='valid' is larger than the input's spatial size "
                             f"{self._spatial(input_shape)} (input shape {tuple(input_shape)}); "
                             "use a smaller pool_size or padding='same'.")

    def call(self, inputs):
        if self.data_format == "channels_last":
            return self._call_channels_first(inputs.movedim(-1, 1), None).movedim(1, -1)
        return self._call_channels_first(inputs, None)

    def _channels_first_form(self):
        return "moves" if self.data_format == "channels_last" and type(self).call is BasePooling.call else None

    def _call_channels_first(self, x, training):
        if self.padding == "valid":
            return self._window_max(x) if self._max_of_slices(x) else self._pool(x, self.pool_size, self.strides)
        return self._pool_same(x)

    def _max_of_slices(self, x):
        """Whether max pooling of windows of at most 2 per axis (one of 2) runs as ``_window_max``: on CPU, when
        nothing needs its gradient and nothing traces it. PyTorch's CPU kernel also computes the indices its
        backward would need; the elementwise maxima of strided views were 2.4x (2x2 on channels_last data) to
        8x (channels_first) as fast here. The backward stays the kernel's: ``maximum``'s splits the gradient
        of a tie, where the kernel's (and Keras's) gives it to the first maximum."""
        return self._windows_of_two and x.device.type == "cpu" and not (torch.is_grad_enabled() and x.requires_grad) \
            and not torch.compiler.is_compiling() and not torch._C._get_tracing_state()

    def _window_max(self, x):
        """Max pooling of ``x (N, C, *spatial)`` without padding, as maxima of its strided views (a window
        of 2 is two of them), axis after axis: the kernel's values, NaN propagated; a new compact tensor in
        ``x``'s memory order (the axes of windows of 1, views, come first)."""
        axes = sorted(zip(range(2, self.rank + 2), self.pool_size, self.strides), key=lambda axis: axis[1])
        for axis, size, stride in axes:
            span = stride * ((x.shape[axis] - size) // stride) + 1
            every = (slice(None),) * axis + (slice(None, None, stride),)
            first = x.narrow(axis, 0, span)[every]
            x = first if size == 1 else torch.maximum(first, x.narrow(axis, 1, span)[every])
        return x

    def _pool_same(self, x):
        pads = [same_padding(n, k, s) for n, k, s in zip(x.shape[2:], self.pool_size, self.strides)]
        explicit, symmetric = split_padding(pads)
        if self.mode == "max":  # the kernel's own padding is -inf; the odd cell is padded with -inf too
            x = x if explicit is None else F.pad(x, explicit, value=-torch.inf)
            if not any(symmetric) and self._max_of_slices(x):
                return self._window_max(x)
            return self._pool(x, self.pool_size, self.strides, symmetric)
        if explicit is None:  # symmetric: the kernel leaves its padding out of the mean
            return self._pool(x, self.pool_size, self.strides, symmetric, count_include_pad=False)
        # Average with the odd cell: window sums over zero padding divided by the real cells' count.
        flat_pads = flat_pad(pads)
        ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
        sums = self._pool(F.pad(x, flat_pads), self.pool_size, self.strides)
        counts = self._pool(F.pad(ones, flat_pads), self.pool_size, self.strides)
        return sums / counts

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}
