"""All lamina layers, by their Keras names, with ``serialize``/``deserialize``."""

from lamina.engine.input_layer import Input, InputLayer  # noqa: F401
from lamina.engine.input_spec import InputSpec  # noqa: F401
from lamina.engine.layer import Layer  # noqa: F401
from lamina.layers.activations import *  # noqa: F401,F403
from lamina.layers.convolutional import *  # noqa: F401,F403
from lamina.layers.core import *  # noqa: F401,F403
from lamina.layers.merging import *  # noqa: F401,F403
from lamina.layers.normalization import *  # noqa: F401,F403
from lamina.layers.pooling import *  # noqa: F401,F403
from lamina.layers.regularization import *  # noqa: F401,F403
from lamina.layers.reshaping import *  # noqa: F401,F403
from lamina.layers.rnn import *  # noqa: F401,F403
from lamina.saving import serialization as _serialization
from lamina.saving.registry import builtins_of as _builtins_of


def serialize(layer):
    """A layer's Keras-form config: ``{"module", "class_name", "config", "registered_name"}``."""
    return _serialization.serialize_keras_object(layer)


def deserialize(config, custom_objects=None, safe_mode=None):
    """A layer (or model) from ``serialize``'s output or a Keras config."""
    import lamina.engine.functional  # noqa: F401  (registers Functional)
    import lamina.engine.sequential  # noqa: F401  (registers Sequential)

    module_objects = {**_builtins_of("keras"), **_builtins_of("keras.src.models.functional"),
                      **_builtins_of("keras.layers")}
    return _serialization.deserialize_keras_object(config, module_objects=module_objects,
                                                   custom_objects=custom_objects, safe_mode=safe_mode,
                                                   printable_module_name="layer")
