"""Dot: the per-sample dot product of two tensors along one axis of each.

Inputs ``x (batch, *a)`` and ``y (batch, *b)`` with ``x.shape[axes[0]] == y.shape[axes[1]]``;
output ``(batch, *a without axes[0], *b without axes[1])``, or ``(batch, 1)`` when nothing
remains. The output carries no mask.
"""

import torch
import torch.nn.functional as F

from lamina import config
from lamina.engine.layer import Layer
from lamina.ops.arguments import is_int
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class Dot(Layer):
    """Batched dot product.

    Args:
        axes: an int (the same axis of both inputs) or a pair ``(axis_x, axis_y)``;
            negative values count from the end; the batch axis 0 is not allowed.
        normalize: L2-normalize both inputs along their axis first (cosine proximity).

    >>> Dot(axes=(1, 2))([torch.zeros(1, 5, 2), torch.zeros(1, 2, 5)]).shape
    torch.Size([1, 2, 2])
    """

    supports_masking = True

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not is_int(axes):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Dot: invalid type for argument `axes`: it should be a list or an int. "
                                f"Received: axes={axes!r}")
            if len(axes) != 2 or not all(is_int(a) for a in axes):
                raise ValueError(f"Dot: invalid format for argument `axes`: it should contain two integers. "
                                 f"Received: axes={axes!r}")
        self.axes = axes if is_int(axes) else tuple(axes)
        self.normalize = normalize

    def _resolve_axes(self, rank1, rank2):
        axes = (self.axes, self.axes) if is_int(self.axes) else tuple(self.axes)
        resolved = (axes[0] % rank1, axes[1] % rank2)
        if 0 in resolved:
            raise ValueError(f"Dot '{self.name}': cannot take the dot product over the batch axis 0. "
                             f"Received: axes={self.axes} for inputs of ranks {rank1} and {rank2}")
        return resolved

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: input_shape={input_shape}")
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(f"Dot '{self.name}': inputs need rank >= 2. Received shapes {shape1}, {shape2}")
        a1, a2 = self._resolve_axes(len(shape1), len(shape2))
        if None not in (shape1[a1], shape2[a2]) and shape1[a1] != shape2[a2]:
            raise ValueError(f"Dot '{self.name}': incompatible input shapes: axis values {shape1[a1]} (at axis "
                             f"{a1}) != {shape2[a2]} (at axis {a2}). Full input shapes: {tuple(shape1)}, "
                             f"{tuple(shape2)}")
        output = shape1[:a1] + shape1[a1 + 1:] + shape2[1:a2] + shape2[a2 + 1:]
        return tuple(output if len(output) > 1 else output + [1])

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def call(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"A `Dot` layer should be called on exactly 2 inputs. Received {len(inputs)}.")
        x, y = inputs
        a1, a2 = self._resolve_axes(x.dim(), y.dim())
        if self.normalize:
            x = F.normalize(x, dim=a1, eps=config.epsilon())
            y = F.normalize(y, dim=a2, eps=config.epsilon())
        x = x.movedim(a1, -1)
        y = y.movedim(a2, 1)
        batch, depth = x.shape[0], x.shape[-1]
        out = torch.bmm(x.reshape(batch, -1, depth), y.reshape(batch, depth, -1))
        shape = x.shape[:-1] + y.shape[2:]
        return out.reshape(shape if len(shape) > 1 else (batch, 1))

    def compute_mask(self, inputs, previous_mask):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def dot(inputs, axes=-1, **kwargs):
    """``Dot(axes=axes, **kwargs)(inputs)``."""
    return Dot(axes=axes, **kwargs)(inputs)
