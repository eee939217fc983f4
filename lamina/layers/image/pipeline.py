"""Pipeline: a list of layers applied in order, outside any model graph."""

import torch

from lamina.engine.layer import Layer
from lamina.layers.serialization import deserialize, serialize
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class Pipeline(Layer):
    """Applies ``layers`` in order, passing ``training`` (and masks) on, like a Sequential model that is a
    plain layer: it records no graph, so it fits in a data pipeline (e.g. a ``DataLoader``'s transform) as
    well as inside a model. Inputs may be anything the first layer takes (images, or a dict of images,
    labels and bounding boxes for the image layers)."""

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        if not isinstance(layers, (list, tuple)) or not all(isinstance(layer, Layer) for layer in layers):
            raise ValueError(f"Pipeline: the `layers` argument must be a list of layers. Received: layers={layers!r}")
        self._pipeline_layers = torch.nn.ModuleList(layers)

    @property
    def layers(self):
        return list(self._pipeline_layers)

    def call(self, inputs, training=None, mask=None):
        for layer in self._pipeline_layers:
            kwargs = {}
            if layer._call_has_mask_arg:
                kwargs["mask"] = mask
            if layer._call_has_training_arg and training is not None:
                kwargs["training"] = training
            inputs = layer(inputs, **kwargs)
            mask = getattr(inputs, "_keras_mask", None)
        return inputs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    @classmethod
    def from_config(cls, config, custom_objects=None):
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"Pipeline: the config must hold a list of serialized layers under 'layers'. "
                             f"Received: layers={layers!r}")
        return cls([deserialize(layer, custom_objects=custom_objects) for layer in layers], name=config.get("name"))

    def get_config(self):
        return {"layers": [serialize(layer) for layer in self._pipeline_layers], "name": self.name}
