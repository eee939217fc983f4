"""Cropping1D, Cropping2D, Cropping3D: remove cells at the borders of the spatial axes (a view, no copy)."""

from lamina.layers.convolutional.base_border import BaseBorder
from lamina.registry import register_builtin


class BaseCropping(BaseBorder):
    """Crops (before, after) cells of each spatial axis.

    Args:
        cropping: an int (every side), a tuple of ``rank`` ints (symmetric per axis) or a tuple of
            ``rank`` (before, after) pairs; in 1D a single (before, after) pair.
        data_format: "channels_last" or "channels_first" (2D and 3D).

    Output: the input shape with each spatial length reduced by before + after; a crop leaving
    a non-positive size raises ``ValueError``.
    """

    argument = "cropping"
    sign = -1

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
        self.cropping = self._keras_amounts

    def call(self, inputs):
        self.compute_output_shape(tuple(inputs.shape))
        spatial = tuple(slice(before, inputs.shape[self._first_spatial_axis + axis] - after)
                        for axis, (before, after) in enumerate(self._pairs))
        return inputs[(slice(None),) * self._first_spatial_axis + spatial]


@register_builtin("keras.layers")
class Cropping1D(BaseCropping):
    """Crops the steps axis of (batch, steps, features).

    >>> Cropping1D((1, 2))(torch.zeros(2, 6, 3)).shape
    torch.Size([2, 3, 3])
    """

    rank = 1
    has_data_format = False

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)


@register_builtin("keras.layers")
class Cropping2D(BaseCropping):
    """Crops rows and columns of (batch, rows, cols, channels) or (batch, channels, rows, cols).

    >>> Cropping2D(((2, 2), (4, 4)))(torch.zeros(1, 28, 28, 3)).shape
    torch.Size([1, 24, 20, 3])
    """

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


@register_builtin("keras.layers")
class Cropping3D(BaseCropping):
    """Crops the three spatial axes of (batch, d1, d2, d3, channels) or (batch, channels, d1, d2, d3).

    >>> Cropping3D(1)(torch.zeros(1, 4, 4, 4, 2)).shape
    torch.Size([1, 2, 2, 2, 2])
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
