"""MaxPooling1D/2D/3D: the maximum over each window (see ``BasePooling`` for shapes and padding)."""

from lamina.layers.pooling.base_pooling import BasePooling
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class MaxPooling1D(BasePooling):
    """Max pooling over time: ``(batch, steps, features)`` -> ``(batch, new_steps, features)``.

    >>> MaxPooling1D(2)(torch.randn(4, 10, 3)).shape
    torch.Size([4, 5, 3])
    """

    rank, mode = 1, "max"


@register_builtin("keras.layers")
class MaxPooling2D(BasePooling):
    """Max pooling over images: ``(batch, rows, cols, channels)`` -> ``(batch, new_rows, new_cols, channels)``.

    >>> MaxPooling2D((2, 2), padding="same")(torch.randn(4, 5, 5, 3)).shape
    torch.Size([4, 3, 3, 3])
    """

    rank, mode = 2, "max"


@register_builtin("keras.layers")
class MaxPooling3D(BasePooling):
    """Max pooling over volumes: ``(batch, d1, d2, d3, channels)`` -> ``(batch, n1, n2, n3, channels)``.

    >>> MaxPooling3D(2)(torch.randn(2, 4, 4, 4, 3)).shape
    torch.Size([2, 2, 2, 2, 3])
    """

    rank, mode = 3, "max"
