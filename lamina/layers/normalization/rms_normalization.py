"""RMSNormalization: ``x * rsqrt(mean(x ** 2) + epsilon) * scale`` over one or several axes."""

import torch
import torch.nn.functional as F

from lamina.engine.layer import Layer
from lamina.layers.normalization.base_normalization import check_axis, check_axis_bounds, resolve_axes
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
        resolve_axes(self, input_shape)  # F.rms_norm when the axes are the trailing ones
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
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
