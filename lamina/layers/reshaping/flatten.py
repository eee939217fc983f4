"""Flatten: every non-batch axis into one, in Keras's (channels_last) order."""

import math

from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.ops.arguments import normalize_data_format
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class Flatten(Layer):
    """Flattens ``(batch, d1, ..., dk)`` to ``(batch, d1 * ... * dk)``; a ``(batch,)`` input becomes ``(batch, 1)``.

    With ``data_format="channels_first"`` the input ``(batch, channels, ...)`` is first put in
    channels_last order, so the flattened features are ordered as Keras orders them.

    >>> Flatten()(torch.ones(2, 3, 4)).shape
    torch.Size([2, 12])
    """

    casts_integer_inputs = False  # moves data: keeps the input dtype, as Keras

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, "Flatten")
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = inputs.permute(0, *range(2, inputs.dim()), 1)
        return inputs.reshape(inputs.shape[0], math.prod(inputs.shape[1:]))

    def compute_output_shape(self, input_shape):
        features = input_shape[1:]
        return (input_shape[0], None if None in features else math.prod(features))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
