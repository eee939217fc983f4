"""Saving and loading, as ``keras.saving``: model and weight files in Keras's and lamina's formats, and the
serialization registry."""

from lamina.saving.api import load_model, load_weights, save_model, save_weights  # noqa: F401
from lamina.registry import (  # noqa: F401
    CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name, get_registered_object,
    register_keras_serializable, register_serializable)
from lamina import registry, serialization  # noqa: F401
from lamina.serialization import deserialize_keras_object, serialize_keras_object  # noqa: F401
from lamina.saving.file_editor import KerasFileEditor  # noqa: F401
