"""One-line reproductions of the fuzz campaign's findings (issue 17): each now works or says clearly why not."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _regressor(inputs=4, outputs=1):
    model = lamina.Sequential([lamina.Input((inputs,)), layers.Dense(outputs)])
    model.compile("sgd", "mse")
    return model


def _two_outputs():
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, [layers.Dense(2, name="a")(inputs), layers.Dense(1, name="b")(inputs)])
    model.compile("sgd", ["mse", "mse"])
    return model


X = np.random.default_rng(0).random((8, 4)).astype("float32")


def test_integer_and_bool_inputs_reach_float_layers_as_floats():
    assert layers.Dense(3)([[1, 2]]).dtype == torch.float32
    assert layers.Conv2D(2, 3)(np.zeros((1, 5, 5, 3), np.uint8)).shape == (1, 3, 3, 2)
    model = _regressor(3)
    model.fit(np.eye(3, dtype=bool)[[0, 1, 2, 0]], np.ones(4), verbose=0)  # a boolean one-hot array
    assert layers.Flatten()(np.ones((2, 3), np.int64)).dtype == torch.int64  # data-moving layers keep it


def test_python_lists_as_x_and_y():
    model = _regressor(2)
    history = model.fit([[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0], verbose=0)
    assert len(history.history["loss"]) == 1
    assert model.predict([[1.0, 2.0]], verbose=0).shape == (1, 1)
    assert np.isfinite(model.evaluate([[1.0, 2.0]], [1.0], verbose=0))


def test_sparse_labels_out_of_range_name_the_label_and_the_classes():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"label 3 is out of range for 3 classes"):
        model.fit(X, np.array([0, 1, 2, 3, 0, 1, 2, 1]), verbose=0)


@pytest.mark.parametrize("names", [["output", "input", "eval", "to", "fit", "weights", "layers", "name"],
                                   ["a.b", "a_b", "a_b_1"]])
def test_any_keras_legal_layer_name_works_and_names_never_collide(names, tmp_path):
    inputs = lamina.Input((3,))
    x = inputs
    for name in names:
        x = layers.Dense(3, name=name)(x)
    model = lamina.Model(inputs, x)
    assert [layer.name for layer in model.layers[1:]] == names
    assert len(model.trainable_weights) == 2 * len(names) and len(model.state_dict()) == 2 * len(names)
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 3)), verbose=0)
    model.save(tmp_path / "m.lamina")
    restored = lamina.models.load_model(tmp_path / "m.lamina")
    np.testing.assert_allclose(restored.predict(np.ones((2, 3)), verbose=0), model.predict(np.ones((2, 3)), verbose=0))


def test_a_lambda_saved_with_its_code_loads_in_a_fresh_process(tmp_path):
    path = tmp_path / "lambda.lamina"
    model = lamina.Sequential([lamina.Input((3,)), layers.Lambda(lambda x: torch.abs(x) * 2 + len([1]))])
    model.save(path)
    code = f"""
        import numpy as np, lamina
        model = lamina.models.load_model({str(path)!r}, safe_mode=False)
        print(model.predict(-np.ones((1, 3)), verbose=0).tolist())
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[[3.0, 3.0, 3.0]]", result.stderr
    with pytest.raises(ValueError, match="safe_mode=False"):
        lamina.models.load_model(path)


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Dense(3, kernel_initializer="glorot_uniformm"),
     r"Dense 'dense\w*': unknown `kernel_initializer` 'glorot_uniformm'; did you mean 'glorot_uniform'\?"),
    (lambda: layers.Conv2D(2, 3, activation="rellu"), r"Conv2D '\w+': unknown `activation` 'rellu'; did you mean 'relu'"),
    (lambda: layers.Dense(3, bias_constraint="nonneg"), r"unknown `bias_constraint` 'nonneg'; did you mean 'non_neg'"),
    (lambda: layers.Bidirectional(layers.Dense(3)), r"Bidirectional: `layer` must be a recurrent layer.*Dense"),
    (lambda: layers.ReLU(max_value=float("nan")), r"ReLU: the `max_value` argument.*nan"),
    (lambda: layers.LayerNormalization(epsilon=-1), r"LayerNormalization: the `epsilon` argument.*-1"),
])
def test_bad_layer_arguments_name_the_layer_and_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("arguments, match", [
    (dict(batch_size=-1), r"fit: `batch_size` must be a positive int or None. Received: batch_size=-1"),
    (dict(batch_size=0), r"`batch_size`.*batch_size=0"), (dict(batch_size=2.5), r"`batch_size`.*2.5"),
    (dict(epochs=1.5), r"`epochs` must be an int >= 0"), (dict(validation_split=1.5), r"`validation_split`.*1.5"),
    (dict(validation_split=-0.5), r"`validation_split`.*-0.5"), (dict(validation_freq=0), r"`validation_freq`.*0"),
    (dict(callbacks="early_stopping"), r"`callbacks` must be a list of lamina.callbacks.Callback"),
    (dict(class_weight=[1, 2]), r"`class_weight` must be a dict"),
])
def test_bad_fit_arguments_are_refused(arguments, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _regressor().fit(X, np.ones(8), verbose=0, **arguments)


def test_predict_past_the_data_stops_at_its_end():
    with pytest.warns(UserWarning, match="ran out of data"):
        assert _regressor().predict(X[:5], batch_size=2, steps=5, verbose=0).shape == (5, 1)


def test_swapped_inputs_of_a_two_input_model_are_refused():
    a, b = lamina.Input((4,), name="a"), lamina.Input((2,), name="b")
    model = lamina.Model([a, b], layers.Concatenate()([layers.Dense(3)(a), layers.Dense(3)(b)]))
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"input 0 \('a'\) expects shape \(None, 4\). Received: shape \(8, 2\)"):
        model.fit([np.ones((8, 2)), np.ones((8, 4))], np.ones((8, 6)), verbose=0)
    assert model.predict([np.ones((2, 4)), np.ones((2, 2, 1))], verbose=0).shape == (2, 6)  # Keras's trailing 1


@pytest.mark.parametrize("layer, good, bad", [
    (lambda: layers.PReLU(), (2, 3, 4), (2, 3, 5)), (lambda: layers.LayerNormalization(), (2, 4), (2, 5)),
    (lambda: layers.DepthwiseConv2D(2), (1, 4, 4, 3), (1, 4, 4, 5)),
    (lambda: layers.LocallyConnected1D(2, 2), (2, 5, 3), (2, 6, 3)), (lambda: layers.Dense(2), (2, 4), (2, 5)),
])
def test_built_layers_refuse_incompatible_shapes(layer, good, bad):
    built = layer()
    built(torch.randn(good))
    with pytest.raises(ValueError, match=rf"layer '{built.name}' is incompatible"):
        built(torch.randn(bad))


def test_targets_of_multi_output_models_must_match_the_outputs():
    with pytest.raises(ValueError, match=r"no entry for output\(s\) \['b'\]"):
        _two_outputs().fit(X, {"a": np.ones((8, 2))}, verbose=0)
    with pytest.raises(ValueError, match=r"2 outputs \['a', 'b'\], but the targets hold 1 array"):
        _two_outputs().fit(X, [np.ones((8, 2))], verbose=0)


def test_auc_on_class_index_targets_of_a_multi_class_output_says_why():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["auc"])
    with pytest.raises(ValueError, match=r"shapes must match.*y_true.shape=\(8,\), y_pred.shape=\(8, 3\)"):
        model.fit(X, np.random.default_rng(0).integers(0, 3, 8), verbose=0)


def test_merge_layers_under_a_mixed_policy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = layers.Add(dtype="mixed_float16")([torch.ones(2, 3), torch.ones(2, 3, dtype=torch.float16)])
    assert out.shape == (2, 3) and bool((out == 2).all())
