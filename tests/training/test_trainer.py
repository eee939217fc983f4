"""compile/fit/evaluate/predict against Keras 3 (torch backend): same model, weights, data => same numbers."""

import logging

import numpy as np
import pytest
import torch

import lamina
import lamina.optimizers  # noqa: F401  (lamina.optimizers as an attribute until lamina/__init__ exports it)
from keras_reference import assert_close


def _classifier(lib, regularized=False):
    extra = {"kernel_regularizer": lib.regularizers.L2(0.01), "activity_regularizer": lib.regularizers.L1(0.001)} \
        if regularized else {}
    return lib.Sequential([lib.Input((4,)), lib.layers.Dense(8, activation="relu", **extra),
                           lib.layers.Dense(3, activation="softmax")])


def _regressor(lib):
    return lib.Sequential([lib.Input((4,)), lib.layers.Dense(6, activation="tanh"), lib.layers.Dense(1)])


def _pair(keras, build, **kwargs):
    keras_model, lamina_model = build(keras, **kwargs), build(lamina, **kwargs)
    lamina_model.set_weights(keras_model.get_weights())
    return keras_model, lamina_model


@pytest.fixture
def data(rng):
    x = rng.standard_normal((50, 4)).astype("float32")
    labels = rng.integers(0, 3, 50)
    target = (x @ rng.standard_normal((4, 1))).astype("float32")
    return x, labels, target


def _compare_fit(keras_model, lamina_model, compile_kwargs, fit_kwargs, tolerance=2e-5):
    keras_model.compile(**compile_kwargs(__import__("keras")))
    lamina_model.compile(**compile_kwargs(lamina))
    expected = keras_model.fit(verbose=0, shuffle=False, **fit_kwargs).history
    actual = lamina_model.fit(verbose=0, shuffle=False, **fit_kwargs).history
    assert set(actual) == set(expected)
    for key in expected:
        assert_close(np.array(actual[key]), np.array(expected[key]), tolerance, f"history[{key!r}]")
    assert_close(lamina_model.get_weights(), keras_model.get_weights(), tolerance, "weights after fit")


def test_fit_sgd_with_validation_split_matches_keras(keras, data):
    x, labels, _ = data
    keras_model, lamina_model = _pair(keras, _classifier)
    _compare_fit(keras_model, lamina_model,
                 lambda lib: dict(optimizer=lib.optimizers.SGD(0.1, momentum=0.9),
                                  loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
                 dict(x=x, y=labels, batch_size=16, epochs=3, validation_split=0.2))


def test_fit_adam_sample_weight_matches_keras(keras, data, rng):
    x, _, target = data
    weights = rng.uniform(0.1, 2.0, 50).astype("float32")
    keras_model, lamina_model = _pair(keras, _regressor)
    _compare_fit(keras_model, lamina_model,
                 lambda lib: dict(optimizer=lib.optimizers.Adam(0.01), loss="mse", metrics=["mae"],
                                  weighted_metrics=["mae"]),
                 dict(x=x, y=target, sample_weight=weights, batch_size=8, epochs=3))


def test_fit_class_weight_and_regularizers_match_keras(keras, data):
    x, labels, _ = data
    keras_model, lamina_model = _pair(keras, _classifier, regularized=True)
    _compare_fit(keras_model, lamina_model,
                 lambda lib: dict(optimizer=lib.optimizers.RMSprop(0.01), loss="sparse_categorical_crossentropy",
                                  metrics=["accuracy"]),
                 dict(x=x, y=labels, batch_size=10, epochs=2, class_weight={0: 1.0, 1: 2.0, 2: 0.5},
                      validation_data=(x[:20], labels[:20])))


def test_evaluate_and_predict_match_keras(keras, data):
    x, labels, _ = data
    keras_model, lamina_model = _pair(keras, _classifier)
    for model, lib in ((keras_model, keras), (lamina_model, lamina)):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert_close(lamina_model.predict(x, batch_size=7, verbose=0), keras_model.predict(x, batch_size=7, verbose=0))
    assert isinstance(lamina_model.predict(x, verbose=0), np.ndarray)
    expected = keras_model.evaluate(x, labels, batch_size=7, verbose=0, return_dict=True)
    actual = lamina_model.evaluate(x, labels, batch_size=7, verbose=0, return_dict=True)
    assert set(actual) == set(expected)
    for key in expected:
        assert_close(actual[key], expected[key], 1e-5, key)
    assert lamina_model.evaluate(x, labels, verbose=0) == pytest.approx(list(actual.values()))
    assert lamina_model.metrics_names == ["loss", "accuracy"]


def _two_outputs(lib):
    inputs = lib.Input((4,), name="features")
    hidden = lib.layers.Dense(5, activation="relu", name="hidden")(inputs)
    return lib.Model(inputs, {"label": lib.layers.Dense(3, activation="softmax", name="label")(hidden),
                              "score": lib.layers.Dense(1, name="score")(hidden)})


def test_multi_output_losses_weights_metrics_match_keras(keras, data):
    x, labels, target = data
    keras_model, lamina_model = _pair(keras, _two_outputs)
    _compare_fit(keras_model, lamina_model,
                 lambda lib: dict(optimizer=lib.optimizers.SGD(0.05),
                                  loss={"label": "sparse_categorical_crossentropy", "score": "mse"},
                                  loss_weights={"label": 1.0, "score": 0.5},
                                  metrics={"label": ["accuracy"], "score": ["mae"]}),
                 dict(x=x, y={"label": labels, "score": target}, batch_size=16, epochs=2))
    predictions = lamina_model.predict(x, verbose=0)
    assert set(predictions) == {"label", "score"} and predictions["score"].shape == (50, 1)


def _one_output(lib, as_list):
    inputs = lib.Input((4,))
    output = lib.layers.Dense(1, name="score")(lib.layers.Dense(5, activation="tanh")(inputs))
    return lib.Model(inputs, [output] if as_list else output)


# One output given every way Keras takes it: the loss bare, as a list or by name; the target likewise.
ONE_OUTPUT_FORMS = [("mse", lambda y: y, ["mae"]), (["mse"], lambda y: [y], ["mae"]),
                    ("mse", lambda y: [y], ["mae"]), (["mse"], lambda y: y, [["mae"]])]


@pytest.mark.parametrize("as_list", [False, True], ids=["Model(i, x)", "Model(i, [x])"])
@pytest.mark.parametrize("form", range(len(ONE_OUTPUT_FORMS)))
def test_one_output_in_any_form_matches_keras(keras, data, as_list, form):
    x, _, target = data
    loss, wrap, metrics = ONE_OUTPUT_FORMS[form]
    keras_model, lamina_model = _pair(keras, _one_output, as_list=as_list)
    _compare_fit(keras_model, lamina_model,
                 lambda lib: dict(optimizer=lib.optimizers.SGD(0.05), loss=loss, metrics=metrics),
                 dict(x=x, y=wrap(target), batch_size=16, epochs=2))
    expected = keras_model.evaluate(x, wrap(target), verbose=0, return_dict=True)
    actual = lamina_model.evaluate(x, wrap(target), verbose=0, return_dict=True)
    assert set(actual) == set(expected) == {"loss", "mae"}
    for key in expected:
        assert_close(actual[key], expected[key], 1e-5, key)


@pytest.mark.parametrize("as_list", [False, True], ids=["Model(i, x)", "Model(i, [x])"])
def test_one_output_by_name_trains_as_the_bare_form(data, as_list):
    """Loss, metrics and target keyed by the output's name (Keras 3.15 fails on the dict target: "Invalid
    dtype: str160"; lamina reads it by name, as it does for several outputs)."""
    x, _, target = data
    histories = []
    for loss, y, metrics in (("mse", target, ["mae"]), ({"score": "mse"}, {"score": target}, {"score": "mae"})):
        model = _one_output(lamina, as_list)
        lamina.utils.set_random_seed(0)
        model.set_weights([np.full(w.shape, 0.1, "float32") for w in model.get_weights()])
        model.compile(optimizer=lamina.optimizers.SGD(0.05), loss=loss, metrics=metrics)
        histories.append(model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history)
    assert set(histories[1]) == {"loss", "mae"}
    for key in histories[0]:
        assert_close(np.array(histories[1][key]), np.array(histories[0][key]), 1e-6, key)


def test_a_one_element_output_list_is_unwrapped_in_calls_as_in_keras(keras, data):
    x, _, _ = data
    keras_model, lamina_model = _pair(keras, _one_output, as_list=True)
    assert isinstance(lamina_model(x), torch.Tensor)  # Keras: a call on tensors returns the tensor
    assert_close(lamina_model(x), keras_model(x))
    assert isinstance(lamina_model.predict(x, verbose=0), np.ndarray)
    assert isinstance(lamina_model.predict_on_batch(x), np.ndarray)
    symbolic = lamina_model(lamina.Input((4,)))  # and a symbolic call the list, as Keras's
    assert isinstance(symbolic, list) and len(symbolic) == 1
    assert isinstance(keras_model(keras.Input((4,))), list)
    assert isinstance(lamina_model.output, list) and lamina_model.get_config()["output_layers"] == \
        keras_model.get_config()["output_layers"]
    nested = lamina.Sequential([lamina.Input((4,)), lamina_model])
    assert_close(nested(x), keras_model(x))


def test_compiling_again_replaces_the_loss_and_metrics(keras, data):
    """Freeze, compile, fit; unfreeze, compile again, fit: the second fit reports as a fresh compile does."""
    x, _, target = data
    keras_model, lamina_model = _pair(keras, _regressor)
    for model, lib in ((keras_model, keras), (lamina_model, lamina)):
        model.layers[0].trainable = False
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
        model.fit(x, target, batch_size=16, epochs=1, shuffle=False, verbose=0)
        model.layers[0].trainable = True
    _compare_fit(keras_model, lamina_model,
                 lambda lib: dict(optimizer=lib.optimizers.Adam(0.01), loss="mae", metrics=["mse"]),
                 dict(x=x, y=target, batch_size=16, epochs=2))
    assert [metric.name for metric in lamina_model.metrics] == ["loss", "compile_metrics"]
    assert lamina_model.metrics_names == ["loss", "mse"]
    assert_close(np.array(lamina_model.evaluate(x, target, verbose=0)),
                 np.array(keras_model.evaluate(x, target, verbose=0)), 1e-5)


def test_training_flag_reaches_layers_in_fit_only(data):
    x, _, target = data
    seen = []

    class Probe(lamina.layers.Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs

    model = lamina.Sequential([lamina.Input((4,)), Probe(), lamina.layers.Dense(1)])
    seen.clear()  # building traced the call symbolically
    model.compile("sgd", "mse")
    model.fit(x, target, batch_size=50, verbose=0)
    assert seen == [True]
    model.evaluate(x, target, batch_size=50, verbose=0)
    model.predict(x, batch_size=50, verbose=0)
    assert seen == [True, False, False]


def test_single_batch_methods_and_compile_config(data):
    x, labels, _ = data
    model = _classifier(lamina)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.train_on_batch(x, labels)
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    assert set(model.test_on_batch(x, labels, return_dict=True)) == {"loss", "accuracy"}
    assert model.predict_on_batch(x).shape == (50, 3)
    config = model.get_compile_config()
    assert config["loss"] == "sparse_categorical_crossentropy" and config["optimizer"]["class_name"] == "Adam"
    clone = _classifier(lamina)
    clone.compile_from_config(config)
    assert clone.metrics_names == ["loss"] and type(clone.optimizer).__name__ == "Adam"
    with pytest.raises(RuntimeError, match="compile"):
        _classifier(lamina).fit(x, labels)


def test_constraints_applied_after_each_update(data):
    x, _, target = data
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, kernel_constraint="non_neg"),
                               lamina.layers.Dense(1)])
    model.compile(lamina.optimizers.SGD(0.05), "mse")
    model.fit(x, -np.abs(target), epochs=2, verbose=0)
    assert (model.get_weights()[0] >= 0).all()


def test_summary_string():
    text = _classifier(lamina).summary_string()
    assert "Total params: 67" in text and "dense" in text


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_with_float32_weights(data, policy):
    x, _, target = data
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(8, activation="relu", dtype=policy),
                               lamina.layers.Dense(1, dtype=policy)])
    model.compile(lamina.optimizers.Adam(0.01), "mse")
    losses = model.fit(x, target, epochs=4, verbose=0).history["loss"]
    assert losses[-1] < losses[0] and all(w.dtype == torch.float32 for w in model.weights)
    assert model.predict(x, verbose=0).dtype == np.float32
    assert isinstance(model.optimizer, lamina.optimizers.LossScaleOptimizer) == (policy == "mixed_float16")
