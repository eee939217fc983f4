"""Activation, Identity and Masking: element-wise layers that keep the input shape."""

import torch

from lamina import activations
from lamina.engine.layer import Layer
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class Activation(Layer):
    """Applies ``activation`` (a name or function) element-wise; shape unchanged, masks passed on.

    >>> Activation("relu")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def _call_in_place(self, x):
        in_place = activations.in_place_form(self.activation)
        return self.call(x) if in_place is None else in_place(x)

    def _channels_first_form(self):
        return "elementwise" if activations.is_elementwise(self.activation) else None

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


@register_builtin("keras.layers")
class Identity(Layer):
    """Returns its input (a tensor or a structure of tensors) unchanged; masks passed on."""

    casts_integer_inputs = False  # moves data: keeps the input dtype, as Keras

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


@register_builtin("keras.layers")
class Masking(Layer):
    """Masks time steps whose features all equal ``mask_value``.

    Input shape ``(batch, steps, ..., features)``; output the same, zeroed at masked steps, with the
    mask ``(batch, steps, ...)`` (True = keep) on ``output._keras_mask`` for the next layers.
    """

    casts_integer_inputs = False  # moves data: keeps the input dtype, as Keras

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def call(self, inputs):
        keep = (inputs != self.mask_value).any(dim=-1, keepdim=True)
        outputs = torch.where(keep, inputs, torch.zeros((), dtype=inputs.dtype, device=inputs.device))
        # Set here as Keras does (and because the engine's fast path skips compute_mask).
        outputs._keras_mask = keep.squeeze(-1)
        return outputs

    def compute_mask(self, inputs, previous_mask):
        return (inputs != self.mask_value).any(dim=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
