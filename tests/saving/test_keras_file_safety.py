"""Loading Keras files runs no code unless safe_mode=False, and a corrupt, truncated or hostile file is a
ValueError naming the file and what is wrong: never a bare KeyError/OSError, never a write anywhere."""

import json
import os
import pathlib
import shutil
import struct
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from corruption import corrupted
from keras_reference import assert_close

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "keras2"


def _model():
    return lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, name="dense"),
                              lamina.layers.Dense(1, name="head")])


@pytest.fixture
def saved(tmp_path):
    model = _model()
    for name in ("m.keras", "m.h5", "w.weights.h5"):
        (model.save_weights if "weights" in name else model.save)(tmp_path / name)
    return tmp_path


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info.filename) for info in archive.infolist()}


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return path


def _refused(path, match, load=lamina.models.load_model):
    with pytest.raises(ValueError, match=match) as caught:
        load(path)
    assert str(path) in str(caught.value), caught.value


# ------------------------------------------------------------------------------------------ code in files
def test_lambda_bytecode_runs_only_with_safe_mode_false():
    arrays = np.load(DATA / "lambda.npz", allow_pickle=False)
    with pytest.raises(ValueError, match="safe_mode=False"):
        lamina.models.load_model(DATA / "lambda.h5")
    model = lamina.models.load_model(DATA / "lambda.h5", safe_mode=False)
    assert_close(model(arrays["x0"]), arrays["y0"], what="Keras 2 lambda")


def test_keras3_lambda_is_refused_in_safe_mode(keras, tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda t: t * 3.0)])
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode=False"):
        lamina.models.load_model(tmp_path / "lambda.keras")
    loaded = lamina.models.load_model(tmp_path / "lambda.keras", safe_mode=False)
    np.testing.assert_allclose(loaded(np.ones((1, 2), "float32")).numpy(), [[3.0, 3.0]])


@pytest.mark.parametrize("version", ["3.8.18", "3.13.0"])
def test_bytecode_of_another_python_is_a_clear_error(version, tmp_path):
    foreign = json.loads((DATA / "foreign_lambda.json").read_text())[version]
    path = shutil.copy(DATA / "lambda.h5", tmp_path / "foreign.h5")
    with h5py.File(path, "r+") as handle:
        config = json.loads(handle.attrs["model_config"])
        config["config"]["layers"][-1]["config"]["function"][0] = foreign
        handle.attrs["model_config"] = json.dumps(config)
    with pytest.raises(ValueError, match=r"Lambda layer 'lambda'.*another Python version"):
        lamina.models.load_model(path, safe_mode=False)


# ------------------------------------------------------------------------------------------ broken zips
def test_truncated_and_non_zip_keras_files(saved):
    payload = (saved / "m.keras").read_bytes()
    (saved / "truncated.keras").write_bytes(payload[: len(payload) // 2])
    _refused(saved / "truncated.keras", "truncated, corrupt or not a zip")
    (saved / "text.keras").write_bytes(b"this is not a model")
    _refused(saved / "text.keras", "not a model file lamina can read")
    _refused(saved / "missing.keras", "File not found")


def test_missing_and_unexpected_members(saved):
    members = _members(saved / "m.keras")
    _refused(_zip(saved / "noweights.keras", {k: v for k, v in members.items() if k != "model.weights.h5"}),
             r"lacks \['model.weights.h5'\]")
    _refused(_zip(saved / "extra.keras", {**members, "payload.pkl": b"\x80\x04K\x01."}), "unexpected archive member")
    _refused(_zip(saved / "badjson.keras", {**members, "config.json": b"{not json"}), "config.json is not valid JSON")
    _refused(_zip(saved / "deep.keras", {**members, "config.json": b"[" * 100000 + b"]" * 100000}),
             "config.json is not valid JSON")


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/lamina-escape", "assets/../../escape.txt",
                                  "C:/escape.txt", "assets\\..\\escape.txt"])
def test_member_paths_that_escape_are_refused_and_nothing_is_written(saved, name):
    members = _members(saved / "m.keras")
    before = sorted(os.listdir(saved.parent)), sorted(os.listdir(saved))
    _refused(_zip(saved / "escape.keras", {**members, name: b"owned"}), "escapes the archive")
    assert (sorted(os.listdir(saved.parent)), sorted(os.listdir(saved))) == (before[0], sorted(before[1] +
                                                                                                 ["escape.keras"]))


def test_absurd_declared_sizes_are_refused(saved):
    """A zip member whose central directory declares gigabytes, and an HDF5 dataset declaring terabytes."""
    path = saved / "bomb.keras"
    buffer = bytearray((saved / "m.keras").read_bytes())
    index = buffer.index(b"PK\x01\x02")
    while index >= 0:  # every central-directory entry: declare 3 GiB uncompressed
        struct.pack_into("<I", buffer, index + 24, 3 << 30)
        index = buffer.find(b"PK\x01\x02", index + 4)
    path.write_bytes(bytes(buffer))
    _refused(path, "declares")

    bomb = saved / "bomb.weights.h5"
    shutil.copy(saved / "w.weights.h5", bomb)
    with h5py.File(bomb, "r+") as handle:
        del handle["layers/dense/vars/0"]
        handle["layers/dense/vars"].create_dataset("0", shape=(1 << 40,), dtype="float32", chunks=(1 << 16,),
                                                  compression="gzip")
    _refused(bomb, "declares shape", load=_model().load_weights)


# ------------------------------------------------------------------------------------------ broken HDF5
def test_hdf5_with_a_missing_group(saved):
    for name, group in (("m.h5", "model_weights/dense"), ("w.weights.h5", "layers/dense_1")):
        path = saved / f"broken_{name}"
        shutil.copy(saved / name, path)
        with h5py.File(path, "r+") as handle:
            del handle[group]
        load = lamina.models.load_model if name == "m.h5" else _model().load_weights
        _refused(path, "group .* is missing", load=load)
    path = saved / "no_weights.h5"
    shutil.copy(saved / "m.h5", path)
    with h5py.File(path, "r+") as handle:
        del handle["model_weights"]
    _refused(path, "'model_weights' is missing")


def test_hdf5_with_wrong_weight_counts_and_shapes(saved):
    path = saved / "count.h5"
    shutil.copy(saved / "m.h5", path)
    with h5py.File(path, "r+") as handle:
        group = handle["model_weights/dense"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        group.attrs["weight_names"] = [n.encode() for n in names[:1]]
    _refused(path, r"layer 'dense' expects 2 weight\(s\).*holds 1")
    path = saved / "shape.weights.h5"
    shutil.copy(saved / "w.weights.h5", path)
    with h5py.File(path, "r+") as handle:
        del handle["layers/dense_1/vars/0"]  # the second Dense: Keras names it by class, numbered
        handle["layers/dense_1/vars/0"] = np.zeros((5, 1), "float32")
    _refused(path, r"layer 'head', weight 'head/kernel'.*\(2, 1\).*\(5, 1\)", load=_model().load_weights)
    path = saved / "names.h5"
    shutil.copy(saved / "m.h5", path)
    with h5py.File(path, "r+") as handle:
        handle["model_weights/dense"].attrs["weight_names"] = [b"nowhere/kernel", b"nowhere/bias"]
    _refused(path, "group 'nowhere' is missing")


def test_hdf5_links_and_foreign_data_are_refused(saved, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        handle["secret"] = np.zeros((3, 2), "float32")
    for kind in ("soft", "external"):
        path = saved / f"{kind}.weights.h5"
        shutil.copy(saved / "w.weights.h5", path)
        with h5py.File(path, "r+") as handle:
            del handle["layers/dense/vars/0"]
            handle["layers/dense/vars/0"] = h5py.SoftLink("/layers/dense_1/vars/0") if kind == "soft" \
                else h5py.ExternalLink(str(other), "/secret")
        _refused(path, "links are not allowed", load=_model().load_weights)
    path = saved / "strings.weights.h5"
    shutil.copy(saved / "w.weights.h5", path)
    with h5py.File(path, "r+") as handle:
        del handle["layers/dense/vars/1"]
        handle["layers/dense/vars/1"] = np.array([b"not", b"numbers"])
    _refused(path, "weights must be numeric", load=_model().load_weights)
    (saved / "fake.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 200)
    _refused(saved / "fake.h5", "not a valid HDF5 file")


def test_hostile_configs_are_value_errors(saved):
    members = _members(saved / "m.keras")
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["units"] = "many"
    _refused(_zip(saved / "types.keras", {**members, "config.json": json.dumps(config)}),
             "cannot rebuild the model from its config")
    _refused(_zip(saved / "list.keras", {**members, "config.json": b"[1, 2]"}), "should be a dict")
    path = saved / "badconfig.h5"
    shutil.copy(saved / "m.h5", path)
    with h5py.File(path, "r+") as handle:
        handle.attrs["model_config"] = "{broken"
    _refused(path, "'model_config' attribute is not valid JSON")


def test_a_superblock_that_overflows_h5py_is_a_value_error(tmp_path):
    source = pathlib.Path(__file__).parent.parent / "data" / "corrupt" / "overflow.weights.h5"
    path = tmp_path / "overflow.weights.h5"
    shutil.copy(source, path)
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(5)])
    with pytest.raises(ValueError, match=r"overflow.weights.h5: not a valid HDF5 file \(truncated or corrupt"):
        model.load_weights(path)


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "w.weights.h5"])
def test_random_corruption_is_always_a_value_error_naming_the_file(saved, name):
    """Flipped bytes, truncations and overwritten runs, at random places: a ValueError naming the file."""
    data = (saved / name).read_bytes()
    generator = np.random.default_rng(7)
    path = saved / f"corrupt_{name}"
    for trial in range(30):
        path.write_bytes(corrupted(data, generator, trial, run_length=16))
        try:
            (_model().load_weights if "weights" in name else lamina.models.load_model)(path)
        except ValueError as error:
            assert str(path) in str(error), error
