"""``lamina inspect`` and ``lamina convert``: conversions between .keras, .h5, .lamina and a PyTorch state_dict
keep the predictions; inspect reports format, writer, layers, shapes, training config and problems."""

import pytest
from safetensors.torch import load_file

import lamina
from keras_reference import assert_close
from lamina.__main__ import main


def _model():
    L = lamina.layers
    inputs = lamina.Input((5, 3), name="sequence")
    x = L.Conv1D(4, 2, activation="relu", name="conv")(inputs)  # names fix the state_dict keys
    outputs = L.Dense(2, name="head")(L.GRU(3, name="gru")(x))
    model = lamina.Model(inputs, outputs)
    model.compile(lamina.optimizers.Adam(0.002), "mse", metrics=["mae"])
    return model


def test_convert_chain_keeps_predictions(tmp_path, rng):
    model = _model()
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    expected = model(x).detach()
    model.save(tmp_path / "start.keras")
    chain = ["start.keras", "a.h5", "b.lamina", "c.safetensors", "d.keras"]
    for source, target in zip(chain, chain[1:]):
        assert main(["convert", str(tmp_path / source), str(tmp_path / target)]) == 0
        assert_close(lamina.models.load_model(tmp_path / target)(x), expected, what=target)
    fresh = _model()  # the state_dict loads with plain PyTorch, lamina's parameter names
    fresh.load_state_dict(load_file(tmp_path / "c.safetensors"))
    assert_close(fresh(x), expected, what="load_state_dict")
    assert set(load_file(tmp_path / "c.safetensors")) == set(model.state_dict())
    loss = lamina.models.load_model(tmp_path / "b.lamina").get_compile_config()["loss"]
    assert loss["class_name"] == "MeanSquaredError"  # .h5 writes loss names as their classes (Keras 3 needs it)


def test_convert_refuses_to_overwrite_and_reports_errors(tmp_path, capsys):
    _model().save(tmp_path / "m.keras")
    (tmp_path / "out.h5").write_bytes(b"keep me")
    assert main(["convert", str(tmp_path / "m.keras"), str(tmp_path / "out.h5")]) == 2
    assert "already exists" in capsys.readouterr().err and (tmp_path / "out.h5").read_bytes() == b"keep me"
    assert main(["convert", str(tmp_path / "m.keras"), str(tmp_path / "out.h5"), "--overwrite"]) == 0
    assert main(["convert", str(tmp_path / "missing.keras"), str(tmp_path / "x.h5")]) == 2
    assert "File not found" in capsys.readouterr().err


def test_inspect_reports_the_file(tmp_path, capsys):
    model = _model()
    model.save(tmp_path / "m.h5")
    assert main(["inspect", str(tmp_path / "m.h5")]) == 0
    out = capsys.readouterr().out
    assert "legacy HDF5 model file" in out and "Keras 3.15.1 (torch backend), written by lamina" in out
    assert "head" in out and "(3, 2)" in out and "GRU" in out
    assert "optimizer Adam (learning_rate=0.002)" in out and "lamina loads it: yes" in out


def test_inspect_names_what_would_not_load(tmp_path, capsys):
    model = lamina.Sequential([lamina.Input((6, 2)), lamina.layers.LocallyConnected1D(2, 3),
                               lamina.layers.Lambda(lambda t: t + 1.0)])
    model.save(tmp_path / "m.keras")
    text = (tmp_path / "m.keras").read_bytes()
    assert main(["inspect", str(tmp_path / "m.keras")]) == 0
    out = capsys.readouterr().out
    assert "Python bytecode" in out and "Keras 3 could not read: LocallyConnected1D" in out
    lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)]).save_weights(tmp_path / "w.weights.h5")
    assert main(["inspect", str(tmp_path / "w.weights.h5")]) == 0
    assert "holds only weights" in capsys.readouterr().out
    assert (tmp_path / "m.keras").read_bytes() == text
    (tmp_path / "junk.keras").write_bytes(b"junk")
    assert main(["inspect", str(tmp_path / "junk.keras")]) == 2
    assert "not a model file" in capsys.readouterr().err


def test_inspect_lists_unknown_layers(keras, tmp_path, capsys):
    @keras.saving.register_keras_serializable(package="tests")
    class Mystery(keras.layers.Layer):
        def call(self, x):
            return x

    model = keras.Sequential([keras.Input((2,)), Mystery(), keras.layers.Dense(1)])
    model.save(tmp_path / "m.keras")
    assert main(["inspect", str(tmp_path / "m.keras")]) == 0
    out = capsys.readouterr().out
    assert "unknown layer class 'Mystery'" in out
    with pytest.raises(ValueError, match="Mystery"):
        lamina.models.load_model(tmp_path / "m.keras")
