"""Global pooling: the max or mean over every spatial position.

Inputs ``(batch, *spatial, channels)`` (``channels_last``) or ``(batch, channels, *spatial)``
(``channels_first``); outputs ``(batch, channels)``, or with ``keepdims=True`` the input's
rank with each spatial size 1.
"""

import torch

from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.ops.arguments import normalize_data_format
from lamina.registry import register_builtin


class BaseGlobalPooling(Layer):
    """Reduces all ``rank`` spatial axes; subclasses set ``rank`` and ``reduce``.

    Args:
        data_format: "channels_last" or "channels_first"; None reads ``image_data_format()``.
        keepdims: keep the spatial axes with size 1.
    """

    rank = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        first = 1 if self.data_format == "channels_last" else 2
        self._axes = tuple(range(first, first + self.rank))
        self._spatial_axes_first = tuple(range(2, 2 + self.rank))

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        if not self.keepdims:
            return (input_shape[0], channels)
        ones = (1,) * self.rank
        if self.data_format == "channels_last":
            return (input_shape[0],) + ones + (channels,)
        return (input_shape[0], channels) + ones

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalMax(BaseGlobalPooling):
    def call(self, inputs):
        return torch.amax(inputs, dim=self._axes, keepdim=self.keepdims)


class _GlobalAverage(BaseGlobalPooling):
    def call(self, inputs):
        return self._mean(inputs)

    def _mean(self, inputs):
        """The mean over the spatial axes. channels_last data held channels-first in memory (what a
        channels-first kernel's output moved to channels_last is, as 1D convolutions give) is averaged on
        its channels-first view: the same sums, and the backward's gradient comes out in that memory order,
        the order of the outputs before it (otherwise the elementwise backward of the layer before, e.g. its
        relu, walks two orders at once: a causal Conv1D stack's last relu backward took 3x as long)."""
        if self.data_format == "channels_last" and not inputs.is_contiguous():
            channels_first = inputs.movedim(-1, 1)
            if channels_first.is_contiguous():
                result = torch.mean(channels_first, dim=self._spatial_axes_first, keepdim=self.keepdims)
                return result.movedim(1, -1) if self.keepdims else result
        return torch.mean(inputs, dim=self._axes, keepdim=self.keepdims)


@register_builtin("keras.layers")
class GlobalMaxPooling1D(_GlobalMax):
    """Max over time: ``(batch, steps, features)`` -> ``(batch, features)``."""

    rank = 1


@register_builtin("keras.layers")
class GlobalMaxPooling2D(_GlobalMax):
    """Max over rows and columns: ``(batch, rows, cols, channels)`` -> ``(batch, channels)``."""

    rank = 2


@register_builtin("keras.layers")
class GlobalMaxPooling3D(_GlobalMax):
    """Max over three spatial axes: ``(batch, d1, d2, d3, channels)`` -> ``(batch, channels)``."""

    rank = 3


@register_builtin("keras.layers")
class GlobalAveragePooling1D(_GlobalAverage):
    """Mean over time: ``(batch, steps, features)`` -> ``(batch, features)``.

    A mask ``(batch, steps)`` (from ``Masking`` or ``Embedding(mask_zero=True)``) leaves the
    masked steps out of the mean; the output carries no mask.
    """

    rank = 1
    supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return self._mean(inputs)
        mask = torch.as_tensor(mask, device=inputs.device)
        weights = mask.unsqueeze(2 if self.data_format == "channels_last" else 1).to(inputs.dtype)
        total = torch.where(weights.bool(), inputs, 0).sum(dim=self._axes, keepdim=self.keepdims)
        return total / weights.sum(dim=self._axes, keepdim=self.keepdims)

    def compute_mask(self, inputs, previous_mask):
        return None

    def _call_is_context_free(self):
        """Without a mask, ``call(inputs)`` is the mean, and the output never carries a mask."""
        return True


@register_builtin("keras.layers")
class GlobalAveragePooling2D(_GlobalAverage):
    """Mean over rows and columns: ``(batch, rows, cols, channels)`` -> ``(batch, channels)``."""

    rank = 2


@register_builtin("keras.layers")
class GlobalAveragePooling3D(_GlobalAverage):
    """Mean over three spatial axes: ``(batch, d1, d2, d3, channels)`` -> ``(batch, channels)``."""

    rank = 3
