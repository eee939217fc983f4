"""The .lamina model file and .weights.safetensors: round trips, resumable training, rejection of bad files."""

import json
import os
import zipfile

import numpy as np
import pytest

import lamina
import lamina.optimizers  # noqa: F401
from lamina.saving import load_model


@pytest.fixture
def data(rng):
    x = rng.standard_normal((32, 4)).astype("float32")
    return x, rng.integers(0, 3, 32)


def _model():
    return lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(6, activation="relu"),
                              lamina.layers.Dense(3, activation="softmax")])


def _trained(data, epochs=2):
    lamina.utils.set_random_seed(1)
    model = _model()
    model.compile(lamina.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(*data, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    return model


def test_round_trip_continues_training_like_the_original(data, tmp_path):
    model = _trained(data)
    path = tmp_path / "m.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.safetensors"]
        metadata = json.loads(archive.read("metadata.json"))
    assert {"lamina_version", "torch_version", "date_saved"} <= set(metadata)
    loaded = load_model(path)
    for a, e in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, e)
    np.testing.assert_array_equal(loaded.predict(data[0], verbose=0), model.predict(data[0], verbose=0))
    assert loaded.get_config() == model.get_config() and loaded.optimizer.iterations == model.optimizer.iterations
    model.fit(*data, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(*data, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, e in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-7)
    uncompiled = load_model(path, compile=False)
    assert not uncompiled.compiled


def test_weights_file_round_trip_and_errors(data, tmp_path):
    model = _trained(data)
    path = tmp_path / "w.weights.safetensors"
    model.save_weights(path)
    fresh = _model()
    fresh.load_weights(path)
    for a, e in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, e)
    with pytest.raises(ValueError, match="must end in"):
        model.save_weights(tmp_path / "w.bin")
    wider = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(7), lamina.layers.Dense(3)])
    with pytest.raises(ValueError, match="w.weights.safetensors"):
        wider.load_weights(path)


def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)


def test_bad_files_raise_value_errors_naming_the_file(data, tmp_path):
    good = tmp_path / "good.lamina"
    _trained(data, epochs=1).save(good)
    payload = good.read_bytes()
    truncated = tmp_path / "truncated.lamina"
    truncated.write_bytes(payload[: len(payload) // 2])
    foreign = tmp_path / "foreign.lamina"
    foreign.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    pickled = tmp_path / "pickled.lamina"
    with zipfile.ZipFile(good) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    _write_zip(pickled, {**members, "data.pkl": b"\x80\x04K\x01."})
    bad_json = tmp_path / "badjson.lamina"
    _write_zip(bad_json, {**members, "config.json": b"{not json"})
    bad_weights = tmp_path / "badweights.lamina"
    _write_zip(bad_weights, {**members, "model.weights.safetensors": b"garbage"})
    corrupt = tmp_path / "corrupt.lamina"
    blob = bytearray(payload)
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo("config.json")
    start = info.header_offset + 30 + len(info.filename) + 5
    blob[start] ^= 0xFF
    corrupt.write_bytes(bytes(blob))
    for path in (truncated, foreign, pickled, bad_json, bad_weights, corrupt, tmp_path / "missing.lamina"):
        with pytest.raises(ValueError, match=path.name):
            load_model(path)


def test_failed_write_leaves_the_old_file_intact(data, tmp_path, monkeypatch):
    model = _trained(data, epochs=1)
    path = tmp_path / "m.lamina"
    model.save(path)
    before = path.read_bytes()

    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.lamina"]
    with pytest.raises(ValueError, match=".lamina"):
        model.save(tmp_path / "m.txt")


def test_lambda_with_code_is_refused_in_safe_mode(tmp_path):
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Lambda(lambda t: t * 2)])
    path = tmp_path / "lambda.lamina"
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        load_model(path)


def test_saved_files_get_the_usual_permissions(data, tmp_path):
    import stat

    model = _model()
    path = tmp_path / "perm.lamina"
    model.save(path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask
