"""Adaptive pooling: max or average over windows chosen so the output has a fixed spatial size.

Inputs ``(batch, *spatial, channels)`` (``channels_last``) or ``(batch, channels, *spatial)``;
outputs the same layout with spatial size ``output_size``, whatever the input's. Along an axis of
``n`` cells pooled to ``m``, output cell ``i`` covers input cells ``floor(i·n/m)`` to
``ceil((i + 1)·n/m) - 1``: Keras's rule (its JAX, TensorFlow and NumPy backends build it from
windows of ``ceil(n/m)`` and ``ceil(n/m) + 1`` cells, which are exactly these bins) and PyTorch's,
so PyTorch's ``adaptive_*_pool`` kernels run it. ``m > n`` repeats cells. channels_last inputs reach
the kernels as channels-first views (a permute, no copy). See docs/padding.md.
"""

import torch.nn.functional as F

from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.ops.arguments import normalize_data_format, normalize_tuple
from lamina.registry import register_builtin

_ADAPTIVE_MAX = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}
_ADAPTIVE_AVERAGE = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}


class BaseAdaptivePooling(Layer):
    """Adaptive pooling of ``rank`` spatial dimensions; subclasses set ``rank`` and ``mode``.

    Args:
        output_size: an int or a tuple of ``rank`` positive ints, the output's spatial size.
        data_format: "channels_last" or "channels_first"; None reads ``image_data_format()``.
    """

    rank = None
    mode = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.output_size = normalize_tuple(output_size, self.rank, "output_size", name)
        self.data_format = normalize_data_format(data_format, name)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._channels_last = self.data_format == "channels_last"
        self._pool = (_ADAPTIVE_MAX if self.mode == "max" else _ADAPTIVE_AVERAGE)[self.rank]

    def compute_output_shape(self, input_shape):
        if self._channels_last:
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def call(self, inputs):
        if not self._channels_last:
            return self._pool(inputs, self.output_size)
        return self._pool(inputs.movedim(-1, 1), self.output_size).movedim(1, -1)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size, "data_format": self.data_format}


@register_builtin("keras.layers")
class AdaptiveAveragePooling1D(BaseAdaptivePooling):
    """Mean over adaptive windows: ``(batch, steps, channels)`` -> ``(batch, output_size, channels)``.

    >>> AdaptiveAveragePooling1D(4)(torch.randn(2, 10, 3)).shape
    torch.Size([2, 4, 3])
    """

    rank, mode = 1, "average"


@register_builtin("keras.layers")
class AdaptiveAveragePooling2D(BaseAdaptivePooling):
    """Mean over adaptive windows: ``(batch, rows, cols, channels)`` -> ``(batch, *output_size, channels)``.

    >>> AdaptiveAveragePooling2D((2, 3))(torch.randn(2, 7, 9, 3)).shape
    torch.Size([2, 2, 3, 3])
    """

    rank, mode = 2, "average"


@register_builtin("keras.layers")
class AdaptiveAveragePooling3D(BaseAdaptivePooling):
    """Mean over adaptive windows: ``(batch, d1, d2, d3, channels)`` -> ``(batch, *output_size, channels)``."""

    rank, mode = 3, "average"


@register_builtin("keras.layers")
class AdaptiveMaxPooling1D(BaseAdaptivePooling):
    """Max over adaptive windows: ``(batch, steps, channels)`` -> ``(batch, output_size, channels)``."""

    rank, mode = 1, "max"


@register_builtin("keras.layers")
class AdaptiveMaxPooling2D(BaseAdaptivePooling):
    """Max over adaptive windows: ``(batch, rows, cols, channels)`` -> ``(batch, *output_size, channels)``."""

    rank, mode = 2, "max"


@register_builtin("keras.layers")
class AdaptiveMaxPooling3D(BaseAdaptivePooling):
    """Max over adaptive windows: ``(batch, d1, d2, d3, channels)`` -> ``(batch, *output_size, channels)``."""

    rank, mode = 3, "max"
