"""UnitNormalization: scales each sample to unit L2 norm along ``axis``."""

import torch.nn.functional as F

from lamina.engine.layer import Layer
from lamina.layers.normalization.base_normalization import check_axis, check_axis_bounds
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class UnitNormalization(Layer):
    """``x / max(||x||_2, 1e-12)`` along ``axis`` (an int or a list of ints). Any shape; same shape out.

    >>> UnitNormalization()(torch.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = check_axis(axis, "UnitNormalization")
        self._dim = tuple(self.axis) if isinstance(self.axis, list) else self.axis

    def compute_output_shape(self, input_shape):
        return check_axis_bounds(self, input_shape)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def call(self, inputs):
        return F.normalize(inputs, p=2.0, dim=self._dim, eps=1e-12)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
