"""Rescaling: ``inputs * scale + offset`` (e.g. pixels from [0, 255] to [0, 1])."""

import numpy as np
import torch

from lamina import config
from lamina.dtypes import TORCH_DTYPES
from lamina.layers.preprocessing.base import DataLayer
from lamina.registry import register_builtin
from lamina.serialization import deserialize_keras_object, serialize_keras_object


def _number_or_array(value):
    """A scale/offset read back from a config: Keras writes NumPy values as ``__numpy__`` objects."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        return np.array(value["config"]["value"], dtype=value["config"].get("dtype"))
    return deserialize_keras_object(value) if isinstance(value, dict) else value


@register_builtin("keras.layers")
class Rescaling(DataLayer):
    """Multiplies by ``scale`` and adds ``offset``, in the layer's float dtype.

    Args:
        scale: a float, or one value per channel (a list/array; with ``channels_first`` image data the
            values apply to axis -3, as in Keras).
        offset: a float (or per channel), added after scaling.

    Input shape: any (integers or floats). Output shape: the input shape, float.

    >>> Rescaling(1 / 127.5, offset=-1)(torch.tensor([0, 255]))
    tensor([-1.,  1.])
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.supports_masking = True
        self._compute_torch_dtype = TORCH_DTYPES[self.compute_dtype]
        self.register_buffer("_scale", self._as_factor(scale, "scale"), persistent=False)
        self.register_buffer("_offset", self._as_factor(offset, "offset"), persistent=False)
        self._adds_offset = bool(np.any(np.asarray(offset) != 0))

    def _as_factor(self, value, argument):
        array = np.asarray(value) if not isinstance(value, torch.Tensor) else value.detach().cpu().numpy()
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Rescaling '{self.name}': the `{argument}` argument must be a number or one number per "
                            f"channel. Received: {argument}={value!r}")
        tensor = torch.as_tensor(array, dtype=self._compute_torch_dtype)
        if tensor.dim() > 0 and config.image_data_format() == "channels_first":
            tensor = tensor.reshape(tuple(tensor.shape) + (1,) * (3 - tensor.dim()))
        return tensor

    def call(self, inputs):
        if inputs.dtype is not self._compute_torch_dtype:
            inputs = inputs.to(self._compute_torch_dtype)
        scaled = inputs * self._scale
        return scaled + self._offset if self._adds_offset else scaled

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "scale": serialize_keras_object(self.scale),
                "offset": serialize_keras_object(self.offset)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["scale"] = _number_or_array(config["scale"])
        config["offset"] = _number_or_array(config.get("offset", 0.0))
        return cls(**config)
