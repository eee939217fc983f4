"""UpSampling1D, UpSampling2D, UpSampling3D: repeat each spatial cell ``size`` times per axis
("nearest"), or for 2D resize bilinearly (half-pixel centres, as Keras)."""

import torch.nn.functional as F

from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.ops import arguments
from lamina.registry import register_builtin


class BaseUpSampling(Layer):
    """Subclasses set ``rank``; 1D has no data_format (channels_last)."""

    rank = None
    interpolations = ("nearest",)

    def __init__(self, size, data_format="channels_last", interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self._label = f"{type(self).__name__} '{self.name}'"
        self.size = arguments.normalize_tuple(size, self.rank, "size", self._label)
        self.data_format = arguments.normalize_data_format(data_format, self._label)
        self.interpolation = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if self.interpolation not in self.interpolations:
            raise ValueError(f"{self._label}: the `interpolation` argument must be one of {self.interpolations}. "
                             f"Received: interpolation={interpolation!r}")
        self._first_spatial_axis = 1 if self.data_format == "channels_last" else 2
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def compute_output_shape(self, input_shape):
        """The input shape with each known spatial length multiplied by its ``size``."""
        shape = list(input_shape)
        for offset, factor in enumerate(self.size):
            axis = self._first_spatial_axis + offset
            shape[axis] = None if shape[axis] is None else shape[axis] * factor
        return tuple(shape)

    def call(self, inputs):
        if self.interpolation == "bilinear":
            channels_last = self.data_format == "channels_last"
            x = inputs.movedim(-1, 1) if channels_last else inputs
            outputs = F.interpolate(x, scale_factor=self.size, mode="bilinear", align_corners=False)
            return outputs.movedim(1, -1) if channels_last else outputs
        # Nearest: broadcast a new axis after each spatial axis to its factor, then merge (one copy).
        first = self._first_spatial_axis
        expanded = inputs
        for offset in reversed(range(self.rank)):
            expanded = expanded.unsqueeze(first + offset + 1)
        shape = list(expanded.shape)
        for offset, factor in enumerate(self.size):
            shape[first + 2 * offset + 1] = factor
        return expanded.expand(shape).reshape(self.compute_output_shape(tuple(inputs.shape)))


@register_builtin("keras.layers")
class UpSampling1D(BaseUpSampling):
    """Repeats each step of (batch, steps, features) ``size`` times.

    >>> UpSampling1D(3)(torch.zeros(2, 4, 5)).shape
    torch.Size([2, 12, 5])
    """

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size, **kwargs)

    def get_config(self):
        return {**super().get_config(), "size": self.size[0]}


@register_builtin("keras.layers")
class UpSampling2D(BaseUpSampling):
    """Upsamples rows and columns of (batch, rows, cols, channels) or (batch, channels, rows, cols).

    Args:
        size: an int or 2 ints, the factors for rows and columns.
        data_format: "channels_last" (default from keras.json) or "channels_first".
        interpolation: "nearest" (repeat) or "bilinear" (half-pixel centres, like Keras).

    >>> UpSampling2D((2, 3), interpolation="bilinear")(torch.zeros(1, 4, 4, 3)).shape
    torch.Size([1, 8, 12, 3])
    """

    rank = 2
    interpolations = ("nearest", "bilinear")

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


@register_builtin("keras.layers")
class UpSampling3D(BaseUpSampling):
    """Repeats each cell of (batch, d1, d2, d3, channels) or (batch, channels, d1, d2, d3) ``size`` times per axis.

    >>> UpSampling3D(2)(torch.zeros(1, 2, 2, 2, 3)).shape
    torch.Size([1, 4, 4, 4, 3])
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}
