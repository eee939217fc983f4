"""Functional models with ``ops`` steps: the config lamina writes is Keras 3.15's, Keras-written configs
(op nodes, Embedding masks feeding an LSTM) load with Keras's numbers, and such a model trains, saves
and reloads."""

import json

import numpy as np
import torch

import lamina
from lamina import layers, ops
from tests.keras_reference import assert_close


def _ops_model(lib):
    lib.backend.clear_session()
    inputs = lib.Input((8,))
    x = lib.layers.Dense(12)(inputs)
    x = lib.ops.relu(x) * 2.0 + 1.0
    x = lib.ops.concatenate([x, lib.ops.square(inputs)], axis=-1)
    x = lib.ops.reshape(x, (-1, 4, 5))
    x = lib.ops.mean(x, axis=1)
    x = lib.ops.where(x > 1.5, x, lib.ops.zeros_like(x))
    outputs = lib.layers.Dense(3)(lib.ops.take(x, np.array([0, 2, 4]), axis=1))
    return lib.Model(inputs, outputs)


def test_config_is_keras_config(keras):
    keras_model, lamina_model = _ops_model(keras), _ops_model(lamina)
    assert json.loads(lamina_model.to_json())["config"] == json.loads(keras_model.to_json())["config"]
    assert [op.name for op in lamina_model.operations] == [op.name for op in keras_model.operations]
    assert [layer.name for layer in lamina_model.layers] == [layer.name for layer in keras_model.layers]


def test_configs_load_across_libraries_with_the_same_numbers(keras):
    keras_model = _ops_model(keras)
    x = np.random.default_rng(0).normal(size=(5, 8)).astype("float32")
    loaded = lamina.models.model_from_json(keras_model.to_json())
    loaded.set_weights(keras_model.get_weights())
    assert_close(loaded(x), keras_model(x))
    back = keras.models.model_from_json(loaded.to_json())
    back.set_weights(keras_model.get_weights())
    assert_close(back(x), keras_model(x))


def test_keras_mask_op_nodes_feed_the_lstm(keras):
    keras.backend.clear_session()
    tokens = keras.Input((6,), dtype="int32")
    embedded = keras.layers.Embedding(10, 4, mask_zero=True)(tokens)
    keras_model = keras.Model(tokens, keras.layers.LSTM(3)(embedded))
    config = json.loads(keras_model.to_json())
    assert "NotEqual" in [layer["class_name"] for layer in config["config"]["layers"]]
    model = lamina.models.model_from_json(keras_model.to_json())
    model.set_weights(keras_model.get_weights())
    data = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]], dtype="int32")
    assert_close(model(data), keras_model(data))
    assert [op.name for op in model.operations] == [op.name for op in keras_model.operations]


def test_ops_model_trains_saves_and_reloads(tmp_path):
    model = _ops_model(lamina)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(64, 8)).astype("float32"), rng.normal(size=(64, 3)).astype("float32")
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "ops.lamina")
    reloaded = lamina.models.load_model(tmp_path / "ops.lamina")
    assert_close(reloaded(x), model(x))
    assert [type(op).__name__ for op in reloaded.operations] == [type(op).__name__ for op in model.operations]
    clone = lamina.models.clone_model(model)
    assert clone(x).shape == (64, 3)


def test_op_training_flag_of_keras_configs_yields_to_the_call(keras):
    keras.backend.clear_session()
    inputs = keras.Input((4,))
    keras_model = keras.Model(inputs, keras.layers.Dropout(0.5)(keras.ops.multiply(inputs, 2.0)))
    model = lamina.models.model_from_json(keras_model.to_json())
    x = torch.ones(200, 4)
    assert torch.equal(model(x), x * 2)
    assert (model(x, training=True) == 0).any()


def test_keras_tensor_operators_record_ops():
    inputs = lamina.Input((3, 4))
    outputs = [inputs + 1, 1 - inputs, inputs * inputs, inputs / 2, inputs ** 2, -inputs, abs(inputs),
               inputs[:, 0], inputs.T, inputs @ ops.ones((4, 2)), inputs > 0, (inputs > 0) & (inputs < 1),
               inputs.reshape((-1, 12)), ops.shape(inputs)[1] * inputs]
    model = lamina.Model(inputs, outputs)
    x = torch.randn(2, 3, 4)
    expected = [x + 1, 1 - x, x * x, x / 2, x ** 2, -x, x.abs(), x[:, 0], x.permute(2, 1, 0), x @ torch.ones(4, 2),
                x > 0, (x > 0) & (x < 1), x.reshape(-1, 12), 3 * x]
    for got, want in zip(model(x), expected):
        assert torch.equal(got, want)
    assert [t.shape for t in outputs[7:10]] == [(None, 4), (4, 3, None), (None, 3, 2)]


def test_symbolic_ops_inside_a_sequential_free_functional_and_lambda():
    inputs = lamina.Input((5,))
    lam = layers.Lambda(lambda t: ops.softmax(ops.log(ops.abs(t) + 1.0)))(inputs)
    model = lamina.Model(inputs, ops.sum(lam, axis=-1))
    assert torch.allclose(model(torch.randn(3, 5)), torch.ones(3))
    assert model.output_shape == (None,)


def test_keras_lambda_written_with_ops_loads(keras):
    # A lambda whose global `ops` is keras.ops, as in a Keras script that did `from keras import ops`.
    function = eval("lambda t: ops.square(t) + 1.0", {"ops": keras.ops})  # noqa: S307
    inputs = keras.Input((3,))
    keras_model = keras.Model(inputs, keras.layers.Lambda(function)(inputs))
    with lamina.serialization.safe_mode_scope(False):
        model = lamina.models.model_from_json(keras_model.to_json())
    x = np.array([[1.0, 2.0, 3.0]], "float32")
    assert_close(model(x), keras_model(x))
