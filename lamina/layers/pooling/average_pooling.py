"""AveragePooling1D/2D/3D: the mean over each window, padded cells left out (see ``BasePooling``)."""

from lamina.layers.pooling.base_pooling import BasePooling
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class AveragePooling1D(BasePooling):
    """Average pooling over time: ``(batch, steps, features)`` -> ``(batch, new_steps, features)``.

    >>> AveragePooling1D(2)(torch.randn(4, 10, 3)).shape
    torch.Size([4, 5, 3])
    """

    rank, mode = 1, "average"


@register_builtin("keras.layers")
class AveragePooling2D(BasePooling):
    """Average pooling over images: ``(batch, rows, cols, channels)`` -> ``(batch, new_rows, new_cols, channels)``.

    >>> AveragePooling2D(3, strides=2, padding="same")(torch.randn(4, 6, 6, 3)).shape
    torch.Size([4, 3, 3, 3])
    """

    rank, mode = 2, "average"


@register_builtin("keras.layers")
class AveragePooling3D(BasePooling):
    """Average pooling over volumes: ``(batch, d1, d2, d3, channels)`` -> ``(batch, n1, n2, n3, channels)``.

    >>> AveragePooling3D(2)(torch.randn(2, 4, 4, 4, 3)).shape
    torch.Size([2, 2, 2, 2, 3])
    """

    rank, mode = 3, "average"
