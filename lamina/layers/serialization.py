"""Layers (and models) to Keras-form configs and back: ``lamina.layers.serialize``/``deserialize``."""

from lamina import registry, serialization

# Registry modules a layer config may name: layers, and the model classes Keras writes.
_LAYER_MODULES = ("keras", "keras.src.models.functional", "keras.layers")


def _module_objects():
    objects = {}
    for module in _LAYER_MODULES:
        objects.update(registry.builtins_of(module))
    return objects


def serialize(layer):
    """A layer's Keras-form config: ``{"module", "class_name", "config", "registered_name"}``."""
    return serialization.serialize_keras_object(layer)


def deserialize(config, custom_objects=None, safe_mode=None):
    """A layer (or model) from ``serialize``'s output or a Keras config."""
    return serialization.deserialize_keras_object(config, module_objects=_module_objects(),
                                                  custom_objects=custom_objects, safe_mode=safe_mode,
                                                  printable_module_name="layer")


def is_known(config):
    """Whether ``deserialize`` can find the class a layer config names (without building it)."""
    class_name = config.get("class_name")
    return any(registry.get_registered_object(name) is not None for name in (config.get("registered_name"),
                                                                              class_name) if name) or \
        (config.get("module") and registry.get_builtin(config["module"], class_name) is not None) or \
        class_name in _module_objects()
