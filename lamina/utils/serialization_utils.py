"""``serialize_keras_object``/``deserialize_keras_object`` with ``keras.utils``'s signatures."""

from lamina import registry
from lamina import serialization


def serialize_keras_object(obj):
    """``obj`` in Keras's config form: ``{"module", "class_name", "config", "registered_name"}`` for objects
    with ``get_config``, the registered name for built-in functions, plain values as they are."""
    return serialization.serialize_keras_object(obj)


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object described by ``config`` (a Keras-form dict, or a name), as ``keras.utils``'s.

    Built-ins are found by their config's ``module`` and ``class_name``; ``custom_objects`` and
    registered classes (``register_keras_serializable``) by name. A name that resolves to nothing is
    returned unchanged, as Keras does; ``module_objects`` may be passed to look names up in a table.
    """
    module_objects = kwargs.pop("module_objects", None)
    printable_module_name = kwargs.pop("printable_module_name", "object")
    if kwargs:
        raise ValueError(f"deserialize_keras_object: unexpected keyword argument(s) {sorted(kwargs)}")
    if isinstance(config, str) and registry.get_registered_object(config, custom_objects, module_objects) is None:
        return config
    return serialization.deserialize_keras_object(config, module_objects=module_objects,
                                                  custom_objects=custom_objects, safe_mode=safe_mode,
                                                  printable_module_name=printable_module_name)
