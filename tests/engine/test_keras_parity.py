"""Whole models against Keras 3: symbolic shapes, parameter counts, configs, and config interop.

The same architecture is built in both libraries; shapes and configs must agree, and a model's
JSON from either library must load in the other and give the same numbers with the same weights.
"""

import json

import numpy as np
import pytest

import lamina
from keras_reference import assert_close


def _mlp(lib, layers):
    return lib.Sequential([lib.Input((12,)), layers.Dense(16, activation="relu"), layers.Dropout(0.2),
                           layers.Dense(8, activation="tanh", use_bias=False), layers.Dense(3, activation="softmax")])


def _two_towers(lib, layers):
    left, right = lib.Input((6,), name="left"), lib.Input((4,), name="right")
    shared = layers.Dense(5, name="shared")
    merged = layers.Concatenate(name="merge")([shared(layers.Dense(4, name="lift")(left)), shared(right)])
    score = layers.Dense(1, activation="sigmoid", name="score")(merged)
    label = layers.Dense(3, name="label")(layers.Dense(7, activation="relu", name="hidden")(merged))
    return lib.Model([left, right], [score, label], name="towers")


def _text(lib, layers):
    tokens = lib.Input((9,), dtype="int32", name="tokens")
    hidden = layers.LSTM(6, return_sequences=True, name="lstm")(layers.Embedding(20, 4)(tokens))
    pooled = layers.GlobalAveragePooling1D(name="pool")(hidden)
    return lib.Model(tokens, layers.Dense(2, name="out")(pooled), name="text")


def _residual(lib, layers):
    inputs = lib.Input((5, 4), name="seq")
    hidden = layers.Dense(4, name="proj")(inputs)
    added = layers.Add(name="residual")([inputs, hidden])
    reshaped = layers.Reshape((20,), name="flat")(added)
    return lib.Model(inputs, layers.Dense(2, name="out")(reshaped), name="residual_net")


ARCHITECTURES = [_mlp, _two_towers, _text, _residual]


def _inputs_for(model, generator):
    arrays = []
    for tensor in model.inputs:
        shape = (3,) + tuple(tensor.shape[1:])
        arrays.append(generator.integers(0, 20, shape).astype("int32") if "int" in str(tensor.dtype)
                      else generator.standard_normal(shape).astype("float32"))
    return arrays if len(arrays) > 1 else arrays[0]


def _layer_output_shapes(model):
    shapes = []
    for layer in model.layers:
        node_outputs = layer._inbound_nodes[-1].outputs if hasattr(layer, "_inbound_nodes") else layer.output
        shapes.append([tuple(t.shape) for t in (node_outputs if isinstance(node_outputs, list) else [node_outputs])])
    return shapes


@pytest.mark.parametrize("architecture", ARCHITECTURES, ids=lambda f: f.__name__)
def test_symbolic_shapes_parameters_and_config_keys_match_keras(keras, architecture):
    ours, theirs = architecture(lamina, lamina.layers), architecture(keras, keras.layers)
    assert [tuple(t.shape) for t in ours.outputs] == [tuple(t.shape) for t in theirs.outputs]
    assert ours.count_params() == theirs.count_params()
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in theirs.layers]
    for mine, reference in zip(ours.layers, theirs.layers):
        assert set(mine.get_config()) == set(reference.get_config()), type(mine).__name__
    assert set(ours.get_config()) == set(theirs.get_config())


@pytest.mark.parametrize("architecture", ARCHITECTURES, ids=lambda f: f.__name__)
def test_keras_json_loads_into_lamina_with_the_same_numbers(keras, architecture):
    reference = architecture(keras, keras.layers)
    generator = np.random.default_rng(0)
    reference.set_weights([generator.standard_normal(w.shape).astype(w.dtype) * 0.5
                           for w in reference.get_weights()])
    ours = lamina.models.model_from_json(reference.to_json())
    ours.set_weights(reference.get_weights())
    x = _inputs_for(reference, generator)
    assert_close(ours.predict(x, verbose=0) if hasattr(ours, "predict") else ours(x),
                 reference.predict(x, verbose=0), what=architecture.__name__)


@pytest.mark.parametrize("architecture", ARCHITECTURES, ids=lambda f: f.__name__)
def test_lamina_json_loads_into_keras_with_the_same_numbers(keras, architecture):
    ours = architecture(lamina, lamina.layers)
    theirs = keras.models.model_from_json(ours.to_json())
    theirs.set_weights(ours.get_weights())
    x = _inputs_for(theirs, np.random.default_rng(1))
    expected = theirs.predict(x, verbose=0)
    actual = ours(x)
    assert_close(actual, expected, what=architecture.__name__)
    assert json.loads(ours.to_json())["config"]["name"] == theirs.name
