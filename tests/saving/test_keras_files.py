"""Keras 3 files in and out: models built in Keras 3 and saved as .keras, .h5 and .weights.h5 load in lamina
with the same predictions; models built in lamina and saved in those formats load in Keras 3 with the same
predictions; a compiled model continues training where the other library stopped."""

import warnings

import numpy as np
import pytest

import lamina
from keras_reference import assert_close
from saving import keras_models


def _array(value):
    return np.asarray(value.detach() if hasattr(value, "detach") else value)


def _predict(model, inputs):
    """The model called in inference mode (faster than ``predict`` for a few samples), as NumPy arrays."""
    outputs = model(inputs, training=False)
    return [_array(o) for o in outputs] if isinstance(outputs, (list, tuple)) else _array(outputs)


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns that .h5 is a legacy format
        return function(*args, **kwargs)


# lamina -> Keras: every model goes through .keras; the other three formats take turns (Keras's loader is slow).
_SECOND_FORMATS = ("model.h5", "w.weights.h5", "legacy_weights.h5")


@pytest.mark.parametrize("index", range(len(keras_models.MODELS)),
                         ids=[builder.__name__ for builder in keras_models.MODELS])
def test_keras_files_round_trip_both_ways(keras, index, tmp_path):
    builder = keras_models.MODELS[index]
    keras_model, inputs = builder(keras)
    keras_models.randomize(keras_model)
    expected = _predict(keras_model, inputs)
    for suffix in (".keras", ".h5"):
        path = tmp_path / f"keras{suffix}"
        _quiet(keras_model.save, path)
        loaded = lamina.models.load_model(path)
        assert_close(_predict(loaded, inputs), expected, what=f"{builder.__name__}: Keras {suffix} -> lamina")
    _quiet(keras_model.save_weights, tmp_path / "keras.weights.h5")
    lamina_model, _ = builder(lamina)
    lamina_model.load_weights(tmp_path / "keras.weights.h5")
    assert_close(_predict(lamina_model, inputs), expected, what=f"{builder.__name__}: Keras .weights.h5 -> lamina")

    # lamina -> file -> Keras 3, from the model lamina built itself.
    lamina_model.save(tmp_path / "lamina.keras")
    reloaded = _quiet(keras.models.load_model, tmp_path / "lamina.keras")
    assert_close(_predict(reloaded, inputs), expected, what=f"{builder.__name__}: lamina .keras -> Keras")
    second = _SECOND_FORMATS[index % len(_SECOND_FORMATS)]
    if second == "model.h5":
        lamina_model.save(tmp_path / second)
        reloaded = _quiet(keras.models.load_model, tmp_path / second)
    else:
        lamina_model.save_weights(tmp_path / second)
        reloaded, _ = builder(keras)
        _quiet(reloaded.load_weights, tmp_path / second)
    assert_close(_predict(reloaded, inputs), expected, what=f"{builder.__name__}: lamina {second} -> Keras")


def _classifier(k):
    return k.Sequential([k.Input((6,)), k.layers.Dense(8, activation="relu"), k.layers.Dense(3, activation="softmax")])


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop_momentum", "sgd_nesterov"])
def test_training_continues_across_libraries(keras, optimizer, tmp_path, rng):
    def make(k):
        return {"adam": lambda: k.optimizers.Adam(0.01, amsgrad=True),
                "rmsprop_momentum": lambda: k.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                "sgd_nesterov": lambda: k.optimizers.SGD(0.05, momentum=0.9, nesterov=True)}[optimizer]()

    x, y = rng.standard_normal((16, 6)).astype("float32"), rng.integers(0, 3, 16)
    keras_model = _classifier(keras)
    keras_model.compile(make(keras), "sparse_categorical_crossentropy", metrics=["accuracy"])
    keras_model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for suffix in (".keras", ".h5"):
        path = tmp_path / f"k{suffix}"
        _quiet(keras_model.save, path)
        loaded = lamina.models.load_model(path)
        assert loaded.compiled and int(loaded.optimizer.iterations) == int(keras_model.optimizer.iterations)
        assert loaded.get_compile_config()["loss"] == "sparse_categorical_crossentropy"
        resumed = _quiet(keras.models.load_model, path) if suffix == ".keras" else None
        if resumed is not None:
            resumed.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
            loaded.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
            assert_close(loaded.get_weights(), resumed.get_weights(), what=f"{optimizer}: resumed in lamina")

    # lamina trains, saves, Keras resumes: the same weights as lamina resuming itself.
    lamina.utils.set_random_seed(0)
    model = _classifier(lamina)
    model.compile(make(lamina), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    path = tmp_path / "l.keras"
    model.save(path)
    resumed = keras.models.load_model(path)
    assert int(resumed.optimizer.iterations) == int(model.optimizer.iterations)
    resumed.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert_close(model.get_weights(), resumed.get_weights(), what=f"{optimizer}: resumed in Keras")


def test_optimizer_variables_follow_keras_order_and_layouts(keras, tmp_path, rng):
    """Recurrent and conv kernels are stored in PyTorch's layout: their optimizer slots travel in Keras's."""
    def make(k):
        return k.Sequential([k.Input((5, 3)), k.layers.Conv1D(4, 2), k.layers.LSTM(3), k.layers.Dense(2)])

    x, y = rng.standard_normal((8, 5, 3)).astype("float32"), rng.standard_normal((8, 2)).astype("float32")
    keras_model = make(keras)
    keras_model.compile(keras.optimizers.Nadam(0.01), "mse")
    keras_model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    keras_model.save(tmp_path / "m.keras")
    loaded = lamina.models.load_model(tmp_path / "m.keras")
    from lamina.saving.slots import optimizer_values  # the Keras-layout view under test

    expected = [np.asarray(v) for v in keras_model.optimizer.variables]
    assert_close(optimizer_values(loaded.optimizer), expected, what="Nadam variables")


def test_uncompiled_loading_and_unknown_optimizer(keras, tmp_path):
    model = _classifier(keras)
    model.compile(keras.optimizers.Adam(), "mse")
    model.save(tmp_path / "m.keras")
    assert not lamina.models.load_model(tmp_path / "m.keras", compile=False).compiled

    @keras.saving.register_keras_serializable(package="tests")
    class Mystery(keras.optimizers.SGD):
        pass

    model.compile(Mystery(), "mse")
    model.save(tmp_path / "custom.keras")
    with pytest.warns(UserWarning, match="uncompiled.*Mystery"):
        loaded = lamina.models.load_model(tmp_path / "custom.keras")
    assert not loaded.compiled and loaded.optimizer is None


@pytest.mark.parametrize("suffix", [".weights.h5", ".keras"])
def test_bfloat16_weights_cross_both_ways_as_keras_gives_them(keras, tmp_path, suffix):
    """Keras writes bfloat16 as opaque 2-byte data tagged dtype='bfloat16'; get_weights gives ml_dtypes'
    bfloat16 arrays in both libraries, and set_weights takes them."""
    def build(lib):
        return lib.Sequential([lib.Input((2,)), lib.layers.Dense(3, dtype="bfloat16", name="half")])

    theirs, ours = build(keras), build(lamina)
    theirs.layers[0].kernel.assign(np.linspace(-1, 1, 6).reshape(2, 3))
    write = (lambda m, p: m.save(p)) if suffix == ".keras" else (lambda m, p: m.save_weights(p))
    if suffix == ".keras":  # with Adam's bfloat16 slots too
        theirs.compile(optimizer="adam", loss="mse")
        theirs.fit(np.ones((4, 2), "float32"), np.ones((4, 3), "float32"), verbose=0)
    write(theirs, tmp_path / f"keras{suffix}")
    if suffix == ".keras":
        ours = lamina.saving.load_model(tmp_path / f"keras{suffix}")
        slots = [keras.ops.convert_to_numpy(v).astype("float32") for v in theirs.optimizer.variables]
        restored = [v.float().numpy() for v in ours.optimizer.variables]
        assert [str(v.dtype) for v in ours.optimizer.variables][2:] == ["torch.bfloat16"] * 4
        for mine, reference in zip(restored, slots):
            np.testing.assert_array_equal(mine, reference)
    else:
        ours.load_weights(tmp_path / f"keras{suffix}")
    expected = theirs.get_weights()
    got = ours.get_weights()
    assert [w.dtype.name for w in got] == [w.dtype.name for w in expected] == ["bfloat16", "bfloat16"]
    for mine, reference in zip(got, expected):
        np.testing.assert_array_equal(mine.astype("float32"), reference.astype("float32"))
    fresh = build(lamina)
    fresh.set_weights(expected)
    write(fresh, tmp_path / f"ours{suffix}")
    back = keras.saving.load_model(tmp_path / f"ours{suffix}") if suffix == ".keras" else build(keras)
    if suffix != ".keras":
        back.load_weights(tmp_path / f"ours{suffix}")
    for mine, reference in zip(back.get_weights(), expected):
        np.testing.assert_array_equal(mine.astype("float32"), reference.astype("float32"))


def test_load_weights_mismatch_raises_or_skips(keras, tmp_path):
    source = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")])
    source.save_weights(tmp_path / "w.weights.h5")
    _quiet(source.save, tmp_path / "w.h5")
    for name in ("w.weights.h5", "w.h5"):
        target = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(5, name="a"),
                                    lamina.layers.Dense(2, name="b")])
        with pytest.raises(ValueError, match=r"layer 'a'.*'a/kernel'.*\(4, 5\).*\(4, 3\)"):
            target.load_weights(tmp_path / name)
        before = target.get_weights()
        with pytest.warns(UserWarning, match=r"skipped loading 2 layer\(s\)") as caught:
            target.load_weights(tmp_path / name, skip_mismatch=True)
        assert "layer 'a'" in str(caught[0].message) and "layer 'b'" in str(caught[0].message)
        np.testing.assert_array_equal(target.get_weights()[0], before[0])


def test_skip_mismatch_loads_the_matching_layers(keras, tmp_path):
    source = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")])
    source.save_weights(tmp_path / "w.weights.h5")
    target = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, name="a"),
                                lamina.layers.Dense(2, use_bias=False, name="b")])
    with pytest.warns(UserWarning, match="layer 'b' expects 1 weight"):
        target.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    for mine, theirs in zip(target.layers[0].get_weights(), source.layers[0].get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_legacy_weights_by_name(keras, tmp_path):
    source = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="shared_name"),
                               keras.layers.Dense(2, name="other")])
    _quiet(source.save, tmp_path / "w.h5")  # its model_weights group is what Keras 2's save_weights wrote
    target = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, name="shared_name"),
                                lamina.layers.Dense(7, name="new_head")])
    untouched = target.layers[1].get_weights()
    with pytest.raises(ValueError, match=r"layer 'new_head' \(file layer 'other'.*\(3, 7\).*\(3, 2\)"):
        target.load_weights(tmp_path / "w.h5")  # by order: the second layers pair up
    target.load_weights(tmp_path / "w.h5", by_name=True)
    for mine, theirs in zip(target.layers[0].get_weights(), source.layers[0].get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    for mine, before in zip(target.layers[1].get_weights(), untouched):
        np.testing.assert_array_equal(mine, before)
    target.save_weights(tmp_path / "t.weights.h5")
    with pytest.raises(ValueError, match="by_name"):
        target.load_weights(tmp_path / "t.weights.h5", by_name=True)


def test_format_is_recognised_by_content_not_suffix(keras, tmp_path):
    model, inputs = keras_models.dense_mlp(keras)
    expected = _predict(model, inputs)
    model.save(tmp_path / "m.keras")
    _quiet(model.save, tmp_path / "m.h5")
    (tmp_path / "m.keras").rename(tmp_path / "renamed.bin")
    (tmp_path / "m.h5").rename(tmp_path / "renamed.keras")
    for name in ("renamed.bin", "renamed.keras"):
        assert_close(_predict(lamina.models.load_model(tmp_path / name), inputs), expected, what=name)
    lamina_model = lamina.models.load_model(tmp_path / "renamed.bin")
    lamina_model.save(tmp_path / "m.lamina")
    (tmp_path / "m.lamina").rename(tmp_path / "native.keras")
    assert_close(_predict(lamina.models.load_model(tmp_path / "native.keras"), inputs), expected, what=".lamina")


def test_writing_checks_suffixes_and_is_atomic(tmp_path, monkeypatch):
    import os

    model, _ = keras_models.dense_mlp(lamina)
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(tmp_path / "m.txt")
    with pytest.raises(ValueError, match="save_weights"):
        model.save(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        model.save_weights(tmp_path / "w.bin")
    model.save(tmp_path / "m.keras")
    before = (tmp_path / "m.keras").read_bytes()

    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    for name in ("m.keras", "m.h5", "w.weights.h5"):
        with pytest.raises(OSError, match="disk full"):
            (model.save_weights if "weights" in name else model.save)(tmp_path / name)
    assert (tmp_path / "m.keras").read_bytes() == before and sorted(os.listdir(tmp_path)) == ["m.keras"]


def test_locally_connected_saves_and_reloads_in_lamina(tmp_path, rng):
    model = lamina.Sequential([lamina.Input((8, 3)), lamina.layers.LocallyConnected1D(2, 3),
                               lamina.layers.Flatten(), lamina.layers.Dense(2)])
    inputs = rng.standard_normal((2, 8, 3)).astype("float32")
    expected = _predict(model, inputs)
    for name in ("m.keras", "m.h5"):
        model.save(tmp_path / name)
        assert_close(_predict(lamina.models.load_model(tmp_path / name), inputs), expected, what=name)


def test_subclassed_model_weights_follow_keras_attribute_paths(keras, tmp_path, rng):
    """Keras stores a subclassed model's layers by attribute (``a/vars``, ``blocks/dense_1/vars``) and, for the
    ones reached first through its ``layers`` property, under ``layers/``: lamina walks the same paths."""
    def make(k):
        class Blocks(k.Model):
            def __init__(self):
                super().__init__()
                self.z = k.layers.Dense(3)
                self.a = k.layers.Dense(2)
                self.blocks = [k.layers.Dense(2), k.layers.Dense(2)]

            def call(self, x):
                x = self.a(self.z(x))
                for block in self.blocks:
                    x = block(x)
                return x

        model = Blocks()
        model(np.zeros((1, 4), "float32"))
        return model

    keras_model = make(keras)
    keras_models.randomize(keras_model)
    keras_model.save_weights(tmp_path / "k.weights.h5")
    x = rng.standard_normal((2, 4)).astype("float32")
    model = make(lamina)
    model.load_weights(tmp_path / "k.weights.h5")
    assert_close(_predict(model, x), _predict(keras_model, x), what="Keras -> lamina")
    model.save_weights(tmp_path / "l.weights.h5")
    back = make(keras)
    back.load_weights(tmp_path / "l.weights.h5")
    assert_close(_predict(back, x), _predict(keras_model, x), what="lamina -> Keras")


def test_model_checkpoint_writes_keras_files(keras, tmp_path, rng):
    x, y = rng.standard_normal((8, 6)).astype("float32"), rng.integers(0, 3, 8)
    model = _classifier(lamina)
    model.compile("adam", "sparse_categorical_crossentropy")
    checkpoints = [lamina.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.keras")),
                   lamina.callbacks.ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True)]
    model.fit(x, y, epochs=2, verbose=0, callbacks=checkpoints)
    reloaded = keras.models.load_model(tmp_path / "e2.keras")
    assert_close(_predict(reloaded, x), _predict(model, x), what="ModelCheckpoint .keras")
    fresh = _classifier(keras)
    fresh.load_weights(tmp_path / "w.weights.h5")
    assert_close(_predict(fresh, x), _predict(model, x), what="ModelCheckpoint .weights.h5")
