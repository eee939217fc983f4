"""Layers (and models) to Keras-form configs and back: ``lamina.layers.serialize``/``deserialize``."""

from lamina import registry, serialization

# Registry modules a layer config may name: layers, and the model classes Keras writes.
_LAYER_MODULES = ("keras", "keras.src.models.functional", "keras.layers")


def serialize(layer):
    """A layer's Keras-form config: ``{"module", "class_name", "config", "registered_name"}``."""
    return serialization.serialize_keras_object(layer)


def deserialize(config, custom_objects=None, safe_mode=None):
    """A layer (or model) from ``serialize``'s output or a Keras config."""
    module_objects = {}
    for module in _LAYER_MODULES:
        module_objects.update(registry.builtins_of(module))
    return serialization.deserialize_keras_object(config, module_objects=module_objects,
                                                  custom_objects=custom_objects, safe_mode=safe_mode,
                                                  printable_module_name="layer")
