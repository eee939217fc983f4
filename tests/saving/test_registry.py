"""Registration and deserialization of user classes: names, scopes, no imports from configs."""

import numpy as np
import pytest

from lamina import layers
from lamina.engine.layer import Layer
from lamina.saving import registry, serialization


class Plain(Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_register_serializable_names_and_round_trip():
    registered = registry.register_serializable(package="tests_pkg", name="Doubling")(Plain)
    config = layers.serialize(registered(3.0, name="d"))
    assert config["registered_name"] == "tests_pkg>Doubling"
    restored = layers.deserialize(config)
    assert isinstance(restored, Plain) and restored.factor == 3.0 and restored.name == "d"
    assert registry.get_registered_object("tests_pkg>Doubling") is Plain


def test_custom_object_scope_and_custom_objects_argument():
    class Scoped(Plain):
        pass

    config = {"module": "somewhere", "class_name": "Scoped", "config": {"factor": 1.5}, "registered_name": None}
    with pytest.raises(ValueError, match="Unknown layer: 'Scoped'"):
        layers.deserialize(config)
    with registry.CustomObjectScope({"Scoped": Scoped}):
        assert isinstance(layers.deserialize(config), Scoped)
    assert isinstance(layers.deserialize(config, custom_objects={"Scoped": Scoped}), Scoped)


def test_module_names_in_configs_are_never_imported():
    config = {"module": "os", "class_name": "system", "config": {}, "registered_name": None}
    with pytest.raises(ValueError, match="Unknown layer"):
        layers.deserialize(config)


def test_register_serializable_rejects_bad_packages_and_classes():
    with pytest.raises(ValueError, match="without '>'"):
        registry.register_serializable(package="a>b")
    with pytest.raises(TypeError, match="no get_config"):
        registry.register_serializable()(type("NoConfig", (), {}))


def test_keras_module_names_are_accepted():
    assert registry.get_builtin("keras.layers", "InputLayer") is registry.get_builtin("lamina.layers", "InputLayer")
    restored = serialization.deserialize_keras_object(
        {"module": "keras.layers", "class_name": "InputLayer",
         "config": {"batch_shape": [None, 3], "dtype": "float32", "sparse": False, "ragged": False,
                    "name": "x", "optional": False}, "registered_name": None})
    assert restored.batch_shape == (None, 3)


def test_keras_function_configs_resolve_by_name():
    from lamina import activations

    keras_form = {"module": "builtins", "class_name": "function", "config": "relu", "registered_name": "function"}
    assert activations.deserialize(keras_form) is activations.relu


def test_safe_mode_false_reaches_layers_nested_in_models():
    import lamina

    model = lamina.Sequential([lamina.Input((2,)), layers.Lambda(lambda t: t * 2)])
    inputs = lamina.Input((2,))
    functional = lamina.Model(inputs, layers.Lambda(lambda t: t + 1)(inputs))
    for source in (model, functional):
        config = layers.serialize(source)
        with pytest.raises(ValueError, match="safe_mode"):
            layers.deserialize(config)
        restored = layers.deserialize(config, safe_mode=False)
        assert restored(np.ones((1, 2), np.float32)).tolist() == source(np.ones((1, 2), np.float32)).tolist()
