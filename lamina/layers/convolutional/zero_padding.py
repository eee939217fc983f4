"""ZeroPadding1D, ZeroPadding2D, ZeroPadding3D: add zeros at the borders of the spatial axes."""

import torch.nn.functional as F

from lamina.layers.convolutional.base_border import BaseBorder
from lamina.ops.padding import flat_pad
from lamina.registry import register_builtin


class BaseZeroPadding(BaseBorder):
    """Pads (before, after) zeros on each spatial axis.

    Args:
        padding: an int (every side), a tuple of ``rank`` ints (symmetric per axis) or a tuple of
            ``rank`` (before, after) pairs; in 1D a single (before, after) pair.
        data_format: "channels_last" or "channels_first".

    Output: the input shape with each spatial length grown by before + after.
    """

    argument = "padding"
    sign = 1

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)
        self.padding = self._keras_amounts
        trailing = ((0, 0),) if self.data_format == "channels_last" else ()
        self._torch_pad = tuple(flat_pad(self._pairs + trailing))

    def call(self, inputs):
        return F.pad(inputs, self._torch_pad)


@register_builtin("keras.layers")
class ZeroPadding1D(BaseZeroPadding):
    """Pads the steps axis of (batch, steps, features) (or (batch, features, steps)).

    >>> ZeroPadding1D(2)(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 9, 3])
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


@register_builtin("keras.layers")
class ZeroPadding2D(BaseZeroPadding):
    """Pads rows and columns of (batch, rows, cols, channels) or (batch, channels, rows, cols).

    >>> ZeroPadding2D((1, 2))(torch.zeros(1, 4, 4, 3)).shape
    torch.Size([1, 6, 8, 3])
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


@register_builtin("keras.layers")
class ZeroPadding3D(BaseZeroPadding):
    """Pads the three spatial axes of (batch, d1, d2, d3, channels) or (batch, channels, d1, d2, d3).

    >>> ZeroPadding3D(1)(torch.zeros(1, 2, 2, 2, 3)).shape
    torch.Size([1, 4, 4, 4, 3])
    """

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)
