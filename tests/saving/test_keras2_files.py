"""Keras 2 files (tf_keras 2.21 and a Keras 2.2-form file, made by tests/data/keras2/make_fixtures.py) load
in lamina with Keras 2's numbers: hard_sigmoid, reset_after=False, time_major, stateful LSTMs with
batch_input_shape, LocallyConnected implementations 1-3, Bidirectional GRUs, Embedding(input_length),
nested models and shared layers; training configurations and optimizer state come along."""

import json
import pathlib

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close
from lamina.saving import keras2

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "keras2"


def _fixture(name, suffix=".h5"):
    arrays = np.load(DATA / f"{name}.npz", allow_pickle=False)
    inputs = [arrays[f"x{i}"] for i in range(sum(key.startswith("x") for key in arrays))]
    outputs = [arrays[f"y{i}"] for i in range(sum(key.startswith("y") for key in arrays))]
    return DATA / f"{name}{suffix}", inputs, outputs, arrays


def _call(model, inputs):
    outputs = model(inputs if len(inputs) > 1 else inputs[0])
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


@pytest.mark.parametrize("name", ["recurrent_hard_sigmoid", "time_major", "locally_connected", "bidirectional_gru",
                                  "embedding_input_length", "graph"])
def test_keras2_models_give_keras2_numbers(name):
    path, inputs, expected, _ = _fixture(name)
    model = lamina.models.load_model(path)
    assert_close(_call(model, inputs), expected, what=name)


def test_hard_sigmoid_means_keras2s_formula():
    model = lamina.models.load_model(DATA / "recurrent_hard_sigmoid.h5")
    lstm, gru = model.layers[0], model.layers[1]
    assert lstm.get_config()["recurrent_activation"] == "keras2_hard_sigmoid"
    assert gru.get_config()["reset_after"] is False and gru.get_config()["activation"] == "keras2_hard_sigmoid"
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 3.0])
    np.testing.assert_allclose(lamina.activations.get("keras2_hard_sigmoid")(x).numpy(), [0.0, 0.3, 0.5, 0.7, 1.0],
                               rtol=1e-6)


def test_stateful_lstm_with_batch_input_shape_carries_states():
    path, (first, second), expected, _ = _fixture("stateful_lstm")
    model = lamina.models.load_model(path)
    assert model.input_shape == (2, 4, 3)
    assert_close([model(first), model(second)], expected, what="stateful calls")
    model.reset_states()
    assert_close(model(first), expected[0], what="after reset_states")


def test_time_major_layers_keep_their_layout():
    model = lamina.models.load_model(DATA / "time_major.h5")
    assert [layer.time_major for layer in model.layers[1:]] == [True, True, True]
    assert model.layers[1].compute_output_shape((6, 2, 3)) == (6, 2, 4)


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_compiled_keras2_model_resumes_training(suffix):
    path, (x,), (expected,), arrays = _fixture("compiled_mlp", suffix)
    model = lamina.models.load_model(path)
    assert_close(model(x), expected, what="predict")
    assert model.compiled and isinstance(model.optimizer, lamina.optimizers.Adam)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.01, rtol=1e-6)
    assert int(model.optimizer.iterations) == 8
    model.fit(x, arrays["labels"], batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert_close(model.get_weights(), [arrays[f"w{i}"] for i in range(4)], tolerance=2e-5,
                 what="one more epoch, as tf.keras trained it")
    assert model.metrics_names == ["loss", "accuracy"]


def test_keras2_weights_file_by_order_and_by_name():
    _, (x,), (expected,), _ = _fixture("compiled_mlp")
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(6, activation="relu", name="dense_7"),
                               lamina.layers.Dense(3, activation="softmax", name="dense_8")])
    model.load_weights(DATA / "compiled_mlp_weights.h5")
    assert_close(model(x), expected, what="by order")
    renamed = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(6, activation="relu", name="dense_7"),
                                 lamina.layers.Dense(5, name="new_head")])
    head = renamed.layers[1].get_weights()
    renamed.load_weights(DATA / "compiled_mlp_weights.h5", by_name=True)
    np.testing.assert_array_equal(renamed.layers[0].get_weights()[0], model.layers[0].get_weights()[0])
    np.testing.assert_array_equal(renamed.layers[1].get_weights()[0], head[0])


def test_keras22_file_translates_its_configs():
    _, (x,), (expected,), _ = _fixture("compiled_mlp")
    model = lamina.models.load_model(DATA / "keras22_model.h5")
    assert_close(model(x), expected, what="Keras 2.2 file")
    config = model.get_compile_config()
    assert config["optimizer"]["class_name"] == "Adam" and config["metrics"] == ["acc"]
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.01, rtol=1e-6)
    assert model.optimizer.epsilon == 1e-7


def test_translation_rules():
    translate = keras2.translate_layer
    conv = translate({"class_name": "Convolution2D", "module": "keras.layers.convolutional",
                      "config": {"name": "c", "filters": 2, "kernel_size": 3, "dtype": {
                          "class_name": "Policy", "config": {"name": "mixed_float16"}},
                          "kernel_initializer": {"class_name": "VarianceScaling", "config": {
                              "scale": 1.0, "mode": "fan_in", "distribution": "normal", "seed": None}}}}, "f")
    assert conv["class_name"] == "Conv2D" and "module" not in conv
    assert conv["config"]["dtype"] == "mixed_float16"
    assert conv["config"]["kernel_initializer"]["config"]["distribution"] == "truncated_normal"
    leaky = translate({"class_name": "LeakyReLU", "module": "keras.layers.advanced_activations",
                       "config": {"alpha": 0.3}}, "f")
    assert leaky["config"] == {"negative_slope": 0.3}
    old_gru = translate({"class_name": "GRU", "config": {"units": 2, "recurrent_activation": "hard_sigmoid"}}, "f")
    assert old_gru["config"] == {"units": 2, "recurrent_activation": "keras2_hard_sigmoid", "reset_after": False}
    listed = translate({"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"units": 1}}]}, "f")
    assert listed["config"]["layers"][0]["class_name"] == "Dense"
    with pytest.raises(ValueError, match="virtual_batch_size"):
        translate({"class_name": "BatchNormalization", "config": {"name": "bn", "virtual_batch_size": 4}}, "f")
    optimizer = keras2.translate_training_config(
        {"optimizer_config": {"class_name": "SGD", "config": {"lr": 0.1, "momentum": 0.9, "decay": 0.0,
                                                             "nesterov": True, "name": "SGD"}},
         "loss": {"class_name": "MeanSquaredError", "config": {"reduction": "auto", "name": "mse"}},
         "metrics": ["mae"]}, None, "f")
    assert optimizer["optimizer"] == {"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9,
                                                                      "nesterov": True, "name": "sgd"}}
    assert optimizer["loss"]["config"]["reduction"] == "sum_over_batch_size"


def test_nested_model_node_indices_skip_their_construction_node():
    """Keras 2 counts a nested functional model's construction as its node 0."""
    model = lamina.models.load_model(DATA / "graph.h5")
    block = model.get_layer("block")
    config = json.loads(model.to_json())
    block_config = next(layer for layer in config["config"]["layers"] if layer["name"] == "block")
    assert len(block_config["inbound_nodes"]) == 2 and isinstance(block, lamina.Model)
