"""Sequential, functional and subclassed models: graphs, shapes, configs, cloning, summary."""

import json

import numpy as np
import pytest
import torch

import lamina
from lamina.engine.layer import Layer
from lamina.saving import register_serializable


@register_serializable(package="lamina_tests")
class Scale(Layer):
    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))

    def call(self, inputs):
        return inputs @ self.kernel

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)


@register_serializable(package="lamina_tests")
class Pair(Layer):
    """Two inputs in, their sum out (no compute_output_shape: inferred)."""

    def call(self, inputs):
        return inputs[0] + inputs[1]


def test_sequential_output_shape_known_as_soon_as_input_is():
    model = lamina.Sequential()
    model.add(Scale(4, input_shape=(12,)))
    assert model.output_shape == (None, 4)
    model.add(Scale(3))
    assert model.output_shape == (None, 3) and model.input_shape == (None, 12)
    assert [type(layer).__name__ for layer in model.layers] == ["Scale", "Scale"]
    assert list(model.state_dict()) == ["0.kernel", "1.kernel"]


def test_sequential_first_layer_keywords():
    assert lamina.Sequential([Scale(2, input_dim=5)]).input_shape == (None, 5)
    assert lamina.Sequential([Scale(2, batch_input_shape=(8, 5))]).input_shape == (8, 5)
    assert lamina.Sequential([Scale(2, input_shape=(5,), batch_size=4)]).input_shape == (4, 5)
    assert lamina.Sequential([lamina.Input((5,)), Scale(2)]).output_shape == (None, 2)


def test_sequential_builds_on_first_call_and_pop():
    model = lamina.Sequential([Scale(4), Scale(2)])
    with pytest.raises(RuntimeError, match="no input shape yet"):
        model.input_shape
    output = model(np.ones((3, 6)))
    assert tuple(output.shape) == (3, 2) and model.output_shape == (None, 2)
    popped = model.pop()
    assert isinstance(popped, Scale) and model.output_shape == (None, 4)
    assert len(model.layers[0]._inbound_nodes) == 1  # one node per layer, as Keras 2
    with pytest.raises(ValueError, match="unique names"):
        model.add(Scale(2, name=model.layers[0].name))


def test_sequential_rejects_non_layers():
    with pytest.raises(TypeError, match="expects a lamina Layer"):
        lamina.Sequential([torch.nn.Linear(2, 2)])


def test_functional_multi_input_output_lists_and_dicts():
    a, b = lamina.Input((3,), name="a"), lamina.Input((3,), name="b")
    summed = Pair()([a, b])
    model = lamina.Model([a, b], {"scaled": Scale(4)(summed), "raw": summed})
    assert model.output_shape == {"scaled": (None, 4), "raw": (None, 3)}
    outputs = model([np.ones((2, 3)), np.ones((2, 3))])
    assert tuple(outputs["scaled"].shape) == (2, 4)
    by_name = model({"a": np.ones((2, 3)), "b": np.zeros((2, 3))})
    torch.testing.assert_close(by_name["raw"], torch.ones(2, 3))
    with pytest.raises(ValueError, match="missing input"):
        model({"a": np.ones((2, 3))})


def test_shared_layer_has_two_nodes_and_one_set_of_weights():
    shared = Scale(2)
    a, b = lamina.Input((3,)), lamina.Input((3,))
    model = lamina.Model([a, b], Pair()([shared(a), shared(b)]))
    assert len(shared._inbound_nodes) == 2
    assert len(model.get_weights()) == 1
    x = np.random.default_rng(0).random((2, 3), dtype=np.float32)
    expected = 2 * x @ model.get_weights()[0]
    # NumPy's and PyTorch's matmuls sum in different orders: compare to float32 rounding, not bits.
    np.testing.assert_allclose(model([x, x]).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_nested_models_as_layers():
    inner_input = lamina.Input((3,))
    inner = lamina.Model(inner_input, Scale(2)(inner_input), name="inner")
    outer_input = lamina.Input((3,))
    outer = lamina.Model(outer_input, Scale(1)(inner(outer_input)))
    assert outer.output_shape == (None, 1)
    assert tuple(outer(np.ones((4, 3))).shape) == (4, 1)
    assert outer.get_layer("inner") is inner
    assert inner.get_output_shape_at(1) == (None, 2)  # node 0 is its own graph, node 1 the call


def test_graph_disconnected_is_a_clear_error():
    a, b = lamina.Input((3,)), lamina.Input((3,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        lamina.Model(a, Pair()([a, b]))


def test_get_layer_by_name_and_index():
    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, Scale(2, name="s")(inputs))
    assert model.get_layer("s") is model.get_layer(index=1)
    with pytest.raises(ValueError, match="No such layer: nope"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="exactly one"):
        model.get_layer()


def test_functional_config_round_trip_preserves_graph_and_numbers():
    a, b = lamina.Input((3,), name="in_a"), lamina.Input((3,), name="in_b")
    shared = Scale(3, name="shared")
    model = lamina.Model([a, b], Scale(2, name="head")(Pair(name="pair")([shared(a), shared(b)])), name="m")
    config = model.get_config()
    json.dumps(config)
    shared_entry = next(entry for entry in config["layers"] if entry["name"] == "shared")
    assert len(shared_entry["inbound_nodes"]) == 2
    assert shared_entry["inbound_nodes"][1]["args"][0]["config"]["keras_history"] == ["in_b", 0, 0]
    assert config["input_layers"] == [["in_a", 0, 0], ["in_b", 0, 0]]
    assert config["output_layers"] == ["head", 0, 0]
    clone = lamina.Model.from_config(config)
    clone.set_weights(model.get_weights())
    x = [np.random.rand(2, 3), np.random.rand(2, 3)]
    torch.testing.assert_close(clone(x), model(x))
    assert clone.get_config() == config


def test_sequential_config_round_trip_and_json():
    model = lamina.Sequential([lamina.Input((4,)), Scale(3), Scale(2)], name="seq")
    config = model.get_config()
    assert [entry["class_name"] for entry in config["layers"]] == ["InputLayer", "Scale", "Scale"]
    assert config["build_input_shape"] == [None, 4]
    assert config["layers"][1]["registered_name"] == "lamina_tests>Scale"
    restored = lamina.models.model_from_json(model.to_json())
    assert isinstance(restored, lamina.Sequential) and restored.output_shape == (None, 2)
    assert restored.get_config() == config


def test_unknown_class_in_config_is_a_clear_error():
    config = {"module": "keras.layers", "class_name": "NoSuchLayer", "config": {}, "registered_name": None}
    with pytest.raises(ValueError, match="Unknown layer: 'NoSuchLayer'"):
        lamina.layers.deserialize(config)


def test_clone_model_keeps_architecture_with_fresh_weights():
    lamina.utils.set_random_seed(0)
    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, Scale(2)(Scale(4)(inputs)))
    clone = lamina.models.clone_model(model)
    assert clone.output_shape == model.output_shape
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert not np.allclose(clone.get_weights()[0], model.get_weights()[0])
    sequential = lamina.Sequential([Scale(2, input_shape=(3,))])
    assert lamina.models.clone_model(sequential).output_shape == (None, 2)


@pytest.mark.parametrize("kind", ["sequential", "functional", "functional [x]"])
def test_clone_model_of_a_compiled_model_is_compiled_as_in_keras(keras, kind):
    def build(lib):
        if kind == "sequential":
            return lib.Sequential([lib.Input((3,)), lib.layers.Dense(2, name="out")], name="m", trainable=False)
        inputs = lib.Input((3,))
        outputs = lib.layers.Dense(2, name="out")(inputs)
        return lib.Model(inputs, [outputs] if kind == "functional [x]" else outputs, name="m")

    clones = []
    for lib in (keras, lamina):
        model = build(lib)
        loss = "mae" if kind == "sequential" else {"out": "mae"}  # Keras fails on a Sequential's dict loss
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss=loss, metrics=["mse"])
        clone = lib.models.clone_model(model)
        assert clone.compiled and clone.optimizer is not model.optimizer
        assert (clone.name, clone.trainable) == (model.name, model.trainable)
        clones.append(clone)
    ours, theirs = clones[1], clones[0]
    ours_config, theirs_config = ours.get_compile_config(), theirs.get_compile_config()
    for key in ("loss", "metrics", "loss_weights", "weighted_metrics"):  # the optimizer's module is Keras-torch's own
        assert ours_config[key] == theirs_config[key], key
    mine, reference = (dict(config["optimizer"]["config"]) for config in (ours_config, theirs_config))
    assert mine.pop("name").startswith("adam") and reference.pop("name").startswith("adam")  # counters differ
    assert mine == reference
    assert ours.get_config()["layers"][-1]["config"]["units"] == 2
    if kind != "sequential":
        assert ours.get_config()["output_layers"] == theirs.get_config()["output_layers"]
    ours.set_weights(theirs.get_weights())
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-5)
    model = build(lamina)
    model.compile(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), loss="mse")
    assert not lamina.models.clone_model(model).compiled  # a PyTorch optimizer has no config to compile from


def test_a_subclassed_models_own_get_config_extends_keras_base_config(keras):
    def build(lib):
        class Head(lib.Model):
            def __init__(self, units=3, **kwargs):
                super().__init__(**kwargs)
                self.units, self.dense = units, lib.layers.Dense(units)

            def call(self, x):
                return self.dense(x)

            def get_config(self):
                return {**super().get_config(), "units": self.units}

        return Head

    ours, theirs = build(lamina)(units=4, name="head", dtype="float64"), build(keras)(units=4, name="head",
                                                                                  dtype="float64")
    assert ours.get_config() == theirs.get_config()
    rebuilt = type(ours).from_config(ours.get_config())
    assert (rebuilt.units, rebuilt.dtype_policy.name, rebuilt.name) == (4, "float64", "head")


def test_compile_from_config_leaves_a_custom_compile_to_its_class_as_keras(keras):
    for lib in (keras, lamina):
        class Custom(lib.Sequential):
            def compile(self, learning_rate, **kwargs):  # another signature than compile's
                super().compile(optimizer=lib.optimizers.SGD(learning_rate), **kwargs)

        model = Custom([lib.Input((2,)), lib.layers.Dense(1)])
        model.compile(0.1, loss="mse")
        config = model.get_compile_config()
        fresh = Custom([lib.Input((2,)), lib.layers.Dense(1)])
        with pytest.warns(UserWarning, match=r"`compile\(\)` was not called as part of model loading"):
            fresh.compile_from_config(config)
        assert not fresh.compiled


def test_subclassed_model():
    class TwoLayers(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = Scale(4)
            self.second = Scale(1)

        def call(self, inputs, training=None):
            return self.second(self.first(inputs))

    model = TwoLayers()
    assert tuple(model(np.ones((5, 3))).shape) == (5, 1)
    assert [layer.name for layer in model.layers] == [model.first.name, model.second.name]
    assert len(model.trainable_weights) == 2
    built = TwoLayers()
    built.build((None, 3))
    assert built.built and len(built.weights) == 2


def test_summary_lists_layers_params_and_flops(capsys):
    model = lamina.Sequential([Scale(4, input_shape=(3,), name="first"), Scale(2, name="second")], name="tiny")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "tiny"' in text and "first (Scale)" in text and "(None, 4)" in text
    assert "Total params: 20" in text
    # 3x4 and 4x2 matmuls: 2*12 + 2*8 FLOPs per sample
    assert "FLOPs per sample (forward): 40" in text


def test_model_inside_plain_pytorch_loop():
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([Scale(1, input_shape=(2,))])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(64, 2)
    y = x @ torch.tensor([[2.0], [-1.0]])
    for _ in range(200):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    np.testing.assert_allclose(model.get_weights()[0], [[2.0], [-1.0]], atol=1e-3)


def test_torch_compile_runs_a_built_model():
    model = lamina.Sequential([Scale(3, input_shape=(4,)), Scale(2)])
    x = torch.randn(5, 4)
    expected = model(x)
    compiled = torch.compile(model, backend="eager")
    torch.testing.assert_close(compiled(x), expected)


@pytest.mark.parametrize("training", [False, True])
def test_torch_compile_captures_whole_models_without_graph_breaks(training):
    """Dynamo traces a lamina model (conv, pooling, dropout, LSTM, GRU, BatchNorm, merges) as one graph."""
    from lamina import layers

    sequential = lamina.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, padding="same", activation="relu"),
                                    layers.MaxPooling2D(), layers.Flatten(), layers.Dropout(0.2), layers.Dense(3)])
    inputs = lamina.Input((6, 4))
    recurrent = [layer(5, return_sequences=True)(inputs) for layer in (layers.LSTM, layers.GRU)]
    normalized = layers.BatchNormalization()(layers.Dense(5)(inputs))
    outputs = layers.Dense(2)(layers.GlobalAveragePooling1D()(layers.Add()([*recurrent, normalized])))
    functional = lamina.Model(inputs, outputs)
    for model, x in ((sequential, torch.randn(2, 8, 8, 1)), (functional, torch.randn(3, 6, 4))):
        model(x)  # build first: weights are created on the first call
        explanation = torch._dynamo.explain(model)(x, training=training)
        assert explanation.graph_count == 1 and explanation.graph_break_count == 0, explanation.break_reasons


def test_a_functional_call_drops_each_intermediate_after_its_last_use():
    import weakref

    inputs = lamina.layers.Input((4,))
    first = lamina.layers.Dense(4)(inputs)
    second = lamina.layers.Dense(4)(first)
    skip = lamina.layers.Add()([second, first])  # `first`'s last use
    model = lamina.Model(inputs, lamina.layers.Dense(2)(lamina.layers.Dense(3)(skip)))
    produced, alive = {}, []
    model.layers[1].register_forward_hook(lambda m, i, o: produced.update(first=weakref.ref(o)))
    model.layers[2].register_forward_hook(lambda m, i, o: produced.update(second=weakref.ref(o)))
    model.layers[5].register_forward_pre_hook(
        lambda m, i: alive.append([name for name, ref in produced.items() if ref() is not None]))
    with torch.inference_mode():
        outputs = model(torch.ones(2, 4))
    assert alive == [[]] and outputs.shape == (2, 2)
