"""Keras 3's names outside layers/ops: top-level classes, aliases, function forms, mixed precision, config."""

import logging
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import config, layers

TOP_LEVEL = ["Layer", "Loss", "Metric", "Optimizer", "Initializer", "Regularizer", "InputSpec", "Variable",
             "DTypePolicy", "FloatDTypePolicy", "name_scope", "device", "version", "Input", "Model", "Sequential",
             "KerasTensor", "mixed_precision", "dtype_policies"]


@pytest.fixture
def restore_policy(keras):
    yield
    keras.config.set_dtype_policy("float32")
    config.set_dtype_policy("float32")


def test_top_level_names_are_keras_names(keras):
    for name in TOP_LEVEL:
        assert hasattr(keras, name), name
        assert hasattr(lamina, name), name
    assert lamina.Layer is layers.Layer and lamina.InputSpec is layers.InputSpec
    assert lamina.version() == lamina.__version__
    assert issubclass(lamina.Variable, torch.nn.Parameter)


@pytest.mark.parametrize("module", ["preprocessing", "preprocessing.image", "preprocessing.sequence"])
def test_keras_preprocessing_names_are_lamina_utils_functions(keras, module):
    theirs, ours = keras, lamina
    for part in module.split("."):
        theirs, ours = getattr(theirs, part), getattr(ours, part)
    names = [name for name in dir(theirs) if not name.startswith("_")]
    assert names and [name for name in names if not hasattr(ours, name)] == []
    for name in names:
        if not isinstance(getattr(ours, name), type(lamina)):
            assert getattr(ours, name) is getattr(lamina.utils, name), name


@pytest.mark.parametrize("alias,name", [
    ("Convolution1D", "Conv1D"), ("Convolution2D", "Conv2D"), ("Convolution3D", "Conv3D"),
    ("Convolution1DTranspose", "Conv1DTranspose"), ("Convolution2DTranspose", "Conv2DTranspose"),
    ("Convolution3DTranspose", "Conv3DTranspose"), ("SeparableConvolution1D", "SeparableConv1D"),
    ("SeparableConvolution2D", "SeparableConv2D")])
def test_layer_aliases_are_the_classes_and_load_from_configs(keras, alias, name):
    assert getattr(keras.layers, alias) is getattr(keras.layers, name)
    assert getattr(layers, alias) is getattr(layers, name)
    layer = layers.deserialize({"module": "keras.layers", "class_name": alias,
                                "config": {"filters": 2, "kernel_size": 3, "name": "c"}})
    assert type(layer) is getattr(layers, name)
    assert layers.serialize(layer)["class_name"] == name  # written under the main name, as Keras does


@pytest.mark.parametrize("module", ["initializers", "regularizers", "constraints"])
def test_every_keras_function_form_exists(keras, module):
    ours, theirs = getattr(lamina, module), getattr(keras, module)
    missing = [n for n in dir(theirs) if not n.startswith("_") and not hasattr(ours, n)]
    assert missing == []


@pytest.mark.parametrize("module,name,kwargs", [
    ("initializers", "glorot_uniform", dict(seed=3)), ("initializers", "he_normal", dict(seed=1)),
    ("initializers", "variance_scaling", dict(scale=2.0, mode="fan_out", distribution="uniform")),
    ("initializers", "random_normal", dict(mean=1.0, stddev=0.5)), ("initializers", "constant", dict(value=2.0)),
    ("initializers", "orthogonal", dict(gain=2.0)), ("initializers", "truncated_normal", {}),
    ("regularizers", "l1", dict(l1=0.02)), ("regularizers", "l2", dict(l2=1e-4)),
    ("regularizers", "l1_l2", dict(l1=0.1, l2=0.2)), ("regularizers", "orthogonal_regularizer", dict(factor=0.1)),
    ("constraints", "max_norm", dict(max_value=3, axis=1)), ("constraints", "min_max_norm", dict(rate=0.5)),
    ("constraints", "non_neg", {}), ("constraints", "unit_norm", dict(axis=-1)),
])
def test_function_forms_build_what_keras_builds(keras, module, name, kwargs):
    ours = getattr(getattr(lamina, module), name)(**kwargs)
    theirs = getattr(getattr(keras, module), name)(**kwargs)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.get_config() == theirs.get_config()
    if module != "initializers":
        weight = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
        np.testing.assert_allclose(np.asarray(ours(torch.tensor(weight))),
                                   keras.ops.convert_to_numpy(theirs(keras.ops.convert_to_tensor(weight))),
                                   rtol=1e-6, atol=1e-7)


def test_a_global_policy_reaches_new_layers_as_in_keras(keras, restore_policy):
    for name in ("mixed_float16", "mixed_bfloat16", "float16"):
        keras.mixed_precision.set_global_policy(name)
        lamina.mixed_precision.set_global_policy(name)
        assert repr(lamina.mixed_precision.global_policy()) == repr(keras.mixed_precision.global_policy())
        reference = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
        dense, keras_dense = model.layers[0], reference.layers[0]
        assert (dense.dtype_policy.name, dense.compute_dtype, dense.variable_dtype) == \
            (keras_dense.dtype_policy.name, keras_dense.compute_dtype, keras_dense.variable_dtype)
        assert str(dense.kernel.dtype)[6:] == keras_dense.kernel.dtype
        x = np.ones((2, 3), "float32")
        assert str(model(x).dtype)[6:] == str(reference(x).dtype)[6:]
        assert dense.get_config()["dtype"] == keras_dense.get_config()["dtype"]
    keras.utils.clear_session()
    lamina.utils.clear_session()
    assert repr(lamina.config.dtype_policy()) == repr(keras.config.dtype_policy()) == '<DTypePolicy "float32">'
    assert layers.Dense(2, dtype="float64").dtype_policy.name == "float64"  # an explicit dtype wins


def test_policy_errors_and_objects_match_keras(keras):
    for bad in (3, "foo"):
        with pytest.raises(ValueError) as theirs:
            keras.config.set_dtype_policy(bad)
        with pytest.raises(ValueError) as ours:
            config.set_dtype_policy(bad)
        assert str(ours.value) == str(theirs.value)
    assert lamina.mixed_precision.Policy is lamina.DTypePolicy
    policy = lamina.dtype_policies.get("mixed_bfloat16")
    assert lamina.dtype_policies.serialize(policy) == keras.dtype_policies.serialize(
        keras.dtype_policies.get("mixed_bfloat16"))
    assert lamina.dtype_policies.deserialize(lamina.dtype_policies.serialize(policy)) == policy
    assert isinstance(lamina.mixed_precision.LossScaleOptimizer(lamina.optimizers.SGD()),
                      lamina.optimizers.Optimizer)


def test_every_keras_config_function_exists(keras):
    missing = [n for n in dir(keras.config) if not n.startswith("_") and not hasattr(config, n)]
    assert missing == []
    assert config.backend() == keras.config.backend() == "torch"
    config.set_backend("torch")
    with pytest.raises(ValueError, match="PyTorch only.*Received: backend='jax'"):
        config.set_backend("jax")
    assert config.is_nnx_enabled() is keras.config.is_nnx_enabled() is False
    for switch in ("interactive_logging", "traceback_filtering", "flash_attention"):
        getattr(config, f"disable_{switch}")()
        assert getattr(config, f"is_{switch}_enabled")() is False
        getattr(config, f"enable_{switch}")()
        assert getattr(config, f"is_{switch}_enabled")() is True
    config._switches["flash_attention"] = None


def _fit_counts(lib, epochs=4):
    class Count(lib.callbacks.Callback):
        epochs = batches = 0

        def on_epoch_begin(self, epoch, logs=None):
            Count.epochs += 1

        def on_train_batch_begin(self, batch, logs=None):
            Count.batches += 1

    model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(np.ones((80, 4)), np.ones((80, 1)), batch_size=8, epochs=epochs, verbose=0, callbacks=[Count()])
    return Count.epochs, Count.batches, sorted(str(w.message) for w in caught if "Limiting" in str(w.message))


def test_max_epochs_and_steps_cap_fit_as_in_keras(keras):
    try:
        for lib in (keras, lamina):
            lib.config.set_max_epochs(2)
            lib.config.set_max_steps_per_epoch(3)
        assert _fit_counts(lamina) == _fit_counts(keras) == (2, 6, ["Limiting epochs to 2",
                                                                   "Limiting steps_per_epoch to 3"])
    finally:
        for lib in (keras, lamina):
            lib.config.set_max_epochs(None)
            lib.config.set_max_steps_per_epoch(None)
    assert _fit_counts(lamina)[:2] == (4, 40)
    with pytest.raises(ValueError, match="max_epochs must be a positive int or None. Received: max_epochs=0"):
        config.set_max_epochs(0)


def test_unsafe_deserialization_lets_lambdas_load():
    model = lamina.Sequential([lamina.Input((2,)), layers.Lambda(lambda x: x * 3)])
    saved = model.to_json()
    with pytest.raises(ValueError, match="safe_mode"):
        lamina.models.model_from_json(saved)
    try:
        config.enable_unsafe_deserialization()
        loaded = lamina.models.model_from_json(saved)
    finally:
        config._switches["unsafe_deserialization"] = False
    np.testing.assert_allclose(loaded(np.ones((1, 2), "float32")).numpy(), [[3.0, 3.0]])


def test_disabled_interactive_logging_sends_progress_to_the_logger(capsys, caplog):
    model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    try:
        config.disable_interactive_logging()
        with caplog.at_level(logging.INFO, logger="lamina"):
            model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, verbose=1)
    finally:
        config.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    messages = [record.getMessage() for record in caplog.records if record.name == "lamina"]
    assert messages[0] == "Epoch 1/2" and messages[2] == "Epoch 2/2" and "loss:" in messages[1]


def test_variable_is_built_as_keras_variable(keras):
    for kwargs in (dict(initializer="ones", shape=(2, 3), name="v"), dict(initializer=np.arange(4.0)),
                   dict(initializer=lamina.initializers.Constant(2.0), shape=(2,), trainable=False),
                   dict(initializer=3, dtype="float16", name="s")):
        keras_kwargs = dict(kwargs)
        if isinstance(kwargs["initializer"], lamina.initializers.Initializer):
            keras_kwargs["initializer"] = keras.initializers.Constant(2.0)
        with keras.name_scope("outer"):
            theirs = keras.Variable(**keras_kwargs)
        with lamina.name_scope("outer"):
            ours = lamina.Variable(**kwargs)
        assert (ours.name, ours.path, ours.trainable, str(ours.dtype)[6:], tuple(ours.shape)) == \
            (theirs.name, theirs.path, theirs.trainable, theirs.dtype, tuple(theirs.shape))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        ours.assign(ours.numpy() * 2)
        theirs.assign(theirs.numpy() * 2)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match="the `shape` argument should be specified"):
        lamina.Variable("zeros")


def test_keras_style_custom_metric_runs_unchanged(keras):
    def make(lib):
        class CategoricalTruePositives(lib.metrics.Metric):  # from Keras's training guide
            def __init__(self, name="categorical_true_positives", **kwargs):
                super().__init__(name=name, **kwargs)
                self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

            def update_state(self, y_true, y_pred, sample_weight=None):
                y_pred = torch.argmax(torch.as_tensor(y_pred), 1).reshape(-1, 1)  # torch code runs on both
                values = (torch.as_tensor(np.asarray(y_true)) == y_pred).float()
                if sample_weight is not None:
                    values = values * torch.as_tensor(sample_weight).reshape(-1, 1)
                self.true_positives.assign_add(np.asarray(values.sum()))

            def result(self):
                return self.true_positives

            def reset_state(self):
                self.true_positives.assign(0.0)

        return CategoricalTruePositives()

    rng = np.random.default_rng(0)
    ours, theirs = make(lamina), make(keras)
    for _ in range(3):
        y_true = rng.integers(0, 3, (6, 1))
        y_pred = rng.uniform(size=(6, 3)).astype("float32")
        weight = rng.uniform(size=6).astype("float32")
        ours.update_state(y_true, y_pred, weight)
        theirs.update_state(y_true, y_pred, weight)
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables] == \
        ["categorical_true_positives/ctp"]
    assert isinstance(ours.variables[0], lamina.Variable) and not ours.variables[0].trainable
    ours.reset_state()
    assert float(ours.result()) == 0.0


def test_device_scope_reads_keras_device_names():
    with lamina.device("CPU") as device:
        dense = layers.Dense(2)
        dense.build((None, 3))
    assert device == torch.device("cpu") and dense.kernel.device.type == "cpu"
    with lamina.device("gpu:1") as device:
        assert device == torch.device("cuda:1")
    with pytest.raises(ValueError, match="Expected a string like 'gpu:0' or 'cpu'"):
        with lamina.device(0):
            pass
