"""LayerNormalization: per-sample normalization over one or several axes."""

import warnings

import torch
import torch.nn.functional as F

from lamina.layers.normalization.base_normalization import (AffineNormalization, check_axis, check_epsilon,
                                                           resolve_axes)
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class LayerNormalization(AffineNormalization):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta``, moments per sample over ``axis``.

    Args:
        axis: an int or a list of ints (any axes but the batch axis, not only the last ones).
        epsilon: added to the variance.
        center / scale / beta_* / gamma_*: see ``AffineNormalization``; weights have the shape
            of the input along ``axis`` (in increasing axis order).
        rms_scaling: Keras 3's deprecated option: ``x / sqrt(var + epsilon) * gamma`` (no centering).

    Input: any shape; output: the same.

    >>> LayerNormalization(axis=[1, 2])(torch.randn(2, 3, 4, 5)).shape
    torch.Size([2, 3, 4, 5])
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        if rms_scaling:
            warnings.warn("LayerNormalization: `rms_scaling=True` is deprecated in Keras 3: it scales by the "
                          "variance, not the root mean square.", stacklevel=2)
        super().__init__(**kwargs)
        self.axis = check_axis(axis, "LayerNormalization")
        self.epsilon = check_epsilon(epsilon, "LayerNormalization")
        self.rms_scaling = bool(rms_scaling)
        self._set_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                         beta_constraint, gamma_constraint)

    def build(self, input_shape):
        resolve_axes(self, input_shape)
        self._add_affine_weights(self._normalized_shape, center=self.center and not self.rms_scaling,
                                 scale=self.scale or self.rms_scaling)

    def call(self, inputs):
        if self._trailing and not self.rms_scaling:
            return F.layer_norm(inputs, self._normalized_shape, self.gamma, self.beta, self.epsilon)
        variance, mean = torch.var_mean(inputs, dim=self._axes, correction=0, keepdim=True)
        scale = torch.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            scale = scale * self.gamma.reshape(self._broadcast_shape)
        if self.rms_scaling:
            return inputs * scale
        outputs = (inputs - mean) * scale
        return outputs if self.beta is None else outputs + self.beta.reshape(self._broadcast_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "rms_scaling": self.rms_scaling,
                **self._affine_config()}
