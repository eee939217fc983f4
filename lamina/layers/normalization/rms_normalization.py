"""RMSNormalization: ``x * rsqrt(mean(x ** 2) + epsilon) * scale`` over one or several axes."""

import torch
import torch.nn.functional as F

from lamina.engine.layer import Layer
from lamina.layers.normalization.base_normalization import check_axis, check_axis_bounds
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang & Sennrich, 2019), with a learned ``scale``.

    Args:
        axis: an int or a list of ints: the axes the mean of squares runs over (any axes but the batch
            axis). After build, ``axis`` is the sorted list, as in Keras.
        epsilon: added to the mean of squares.

    The weight ``scale`` (initialized to ones) has the input's sizes along ``axis``. Half-precision
    inputs are normalized in float32 and cast back, as Keras does.

    Input: any shape; output: the same.

    >>> RMSNormalization()(torch.ones(2, 3)).shape
    torch.Size([2, 3])
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = check_axis(axis, "RMSNormalization")
        self.epsilon = epsilon

    def build(self, input_shape):
        check_axis_bounds(self, input_shape)
        rank = len(input_shape)
        axes = sorted({a % rank for a in (self.axis if isinstance(self.axis, list) else [self.axis])})
        if 0 in axes:
            raise ValueError(f"RMSNormalization '{self.name}': cannot normalize over the batch axis 0. "
                             f"Received: axis={self.axis}")
        if any(input_shape[a] is None for a in axes):
            raise ValueError(f"RMSNormalization '{self.name}': the axes {axes} must have known sizes. Received "
                             f"input shape {tuple(input_shape)}")
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        self._axes = tuple(axes)
        self._normalized_shape = tuple(input_shape[a] for a in axes)
        # F.rms_norm normalizes the last dims: usable when the axes are the trailing ones.
        self._trailing = axes == list(range(rank - len(axes), rank))
        self._broadcast_shape = tuple(input_shape[a] if a in axes else 1 for a in range(rank))
        self.scale = self.add_weight(name="scale", shape=self._normalized_shape, initializer="ones")

    def call(self, inputs):
        outputs = inputs.float() if inputs.dtype in (torch.float16, torch.bfloat16) else inputs
        scale = self.scale.to(outputs.dtype)
        if self._trailing:
            outputs = F.rms_norm(outputs, self._normalized_shape, scale, self.epsilon)
        else:
            outputs = outputs * torch.rsqrt(outputs.square().mean(dim=self._axes, keepdim=True) + self.epsilon) \
                * scale.reshape(self._broadcast_shape)
        return outputs.to(inputs.dtype)

    def compute_output_shape(self, input_shape):
        return check_axis_bounds(self, input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
