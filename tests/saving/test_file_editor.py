"""``lamina.saving.KerasFileEditor`` against Keras 3.15's ``keras.saving.KerasFileEditor``: the same files
(written by Keras and by lamina) read into the same trees, the same summaries, the same edits giving files
whose weights agree exactly and load in both libraries; compare() against Keras's; corrupt and hostile
files refused with clear errors; atomic saves."""

import glob
import io
import os
import re
import zipfile

import numpy as np
import pytest

import lamina
from corruption import corrupted
from lamina.saving import KerasFileEditor, h5

_X = np.linspace(-1.0, 1.0, 24, dtype="float32").reshape(6, 4)


# ---------------------------------------------------------------------------------------------- models
def sequential(k):
    return k.Sequential([k.Input((4,)), k.layers.Dense(5, activation="relu"), k.layers.BatchNormalization(),
                         k.layers.Dense(3)])


def functional(k):
    """Keras's own test source model."""
    inputs = k.Input((2,))
    x = k.layers.Dense(3, name="mydense")(inputs)
    return k.Model(inputs, k.layers.Dense(3, name="output_layer")(x))


def target(k):
    """Keras's own test target: one more Dense in the middle."""
    inputs = k.Input((2,))
    x = k.layers.Dense(3, name="mydense")(inputs)
    x = k.layers.Dense(3, name="myotherdense")(x)
    return k.Model(inputs, k.layers.Dense(3, name="output_layer")(x))


def nested(k):
    inner = k.Sequential([k.Input((4,)), k.layers.Dense(3), k.layers.BatchNormalization()], name="inner")
    inputs = k.Input((4,))
    return k.Model(inputs, k.layers.Dense(2)(inner(inputs)))


def _trained(k, builder):
    model = builder(k)
    model.compile(optimizer="adam", loss="mse")
    features = _X[:, :model.inputs[0].shape[-1]]
    model.fit(features, np.ones((6, model.outputs[0].shape[-1]), "float32"), epochs=2, batch_size=3, verbose=0)
    return model


def _write(k, builder, path, train=True):
    model = _trained(k, builder) if train else builder(k)
    model.save(path) if str(path).endswith(".keras") else model.save_weights(path)
    return model


# ---------------------------------------------------------------------------------------------- helpers
@pytest.fixture
def keras_editor(keras, monkeypatch):
    """Keras's editor; a wide console so that rich does not wrap its lines."""
    from keras.src.saving.file_editor import KerasFileEditor as Reference

    monkeypatch.setenv("COLUMNS", "1000")
    return Reference


def _flat(tree, path=""):
    items = {}
    for key, value in tree.items():
        where = f"{path}/{key}" if path else key
        items.update(_flat(value, where) if isinstance(value, dict) else {where: np.asarray(value)})
    return items


def _assert_same(actual, expected):
    actual, expected = _flat(actual), _flat(expected)
    assert list(actual) == list(expected)
    for key, value in expected.items():
        assert actual[key].dtype == value.dtype and actual[key].shape == value.shape, key
        np.testing.assert_array_equal(actual[key], value, err_msg=key)


def _file_weights(path):
    """{object path/name: array} of a weights file, read with plain h5py (``vars`` folded away)."""
    import h5py

    found = {}
    with h5py.File(io.BytesIO(_h5_payload(path)), "r") as handle:
        handle.visititems(lambda name, node: found.__setitem__(name.replace("/vars/", "/").removeprefix("vars/"),
                                                               node[()]) if isinstance(node, h5py.Dataset) else None)
    return {key: np.asarray(value) for key, value in found.items()}


def _h5_payload(path):
    path = str(path)
    if path.endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            return archive.read("model.weights.h5")
    with open(path, "rb") as handle:
        return handle.read()


def _printed(capsys):
    return capsys.readouterr().out.splitlines()


def _errors(lines):
    return [line for line in lines if line.startswith("...")]


def _weights(model):
    return [np.asarray(w.detach().cpu() if hasattr(w, "detach") else w) for w in model.get_weights()]


# ---------------------------------------------------------------------------------------------- reading
@pytest.mark.parametrize("writer", ["keras", "lamina"])
@pytest.mark.parametrize("builder", [sequential, functional], ids=["sequential", "functional"])
@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_reads_what_keras_reads_and_prints_the_same(keras, keras_editor, capsys, tmp_path, writer, builder, suffix):
    path = tmp_path / f"model{suffix}"
    _write(keras if writer == "keras" else lamina, builder, path)
    capsys.readouterr()
    reference = keras_editor(str(path))
    reference.summary()
    expected = _printed(capsys)
    editor = KerasFileEditor(path)
    editor.summary()
    assert _printed(capsys) == expected
    _assert_same(editor.weights_dict, reference.weights_dict)
    assert "optimizer" in editor.weights_dict and editor.model is None
    assert (editor.config, editor.metadata) == (reference.config, reference.metadata)
    assert editor.object_metadata["/layers/dense"] == reference.object_metadata["/layers/dense"]


def test_keeps_nested_models_and_the_optimizer(keras, tmp_path):
    """Keras 3.15's editor drops an object that has an empty ``vars`` group beside sub-objects (every nested
    model); lamina's keeps every weight the file holds."""
    for writer in (keras, lamina):
        path = tmp_path / f"{writer.__name__}.keras"
        _write(writer, nested, path)
        editor = KerasFileEditor(path)
        flat = _flat(editor.weights_dict)
        assert {key: value.shape for key, value in flat.items()} == \
            {key: value.shape for key, value in _file_weights(path).items()}
        assert "layers/sequential/layers/dense/0" in flat and "optimizer/13" in flat


def test_scalar_weights_are_read(keras, tmp_path):
    """Keras's own test: a compiled, trained one-Dense model holds 8 weights (2 + Adam's 6)."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(np.array([[1.0]]), np.array([[1.0]]), verbose=0)
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    for name in ("m.keras", "m.weights.h5"):
        flat = _flat(KerasFileEditor(tmp_path / name).weights_dict)
        assert len(flat) == 8 and flat["optimizer/0"].shape == ()


# ---------------------------------------------------------------------------------------------- editing
def _keras_spec_count(keras_model, tree):
    """The weights of Keras's own spec of ``keras_model`` found in ``tree`` with their shape."""
    from keras.src.saving.file_editor import get_weight_spec_of_saveable

    spec = {}
    get_weight_spec_of_saveable(keras_model, spec)
    flat = _flat(tree)
    shapes = {key: tuple(value.shape) for key, value in _flat_spec(spec).items()}
    return sum(1 for key, shape in shapes.items() if key in flat and flat[key].shape == shape)


def _flat_spec(spec, path=""):
    items = {}
    for key, value in spec.items():
        where = f"{path}/{key}" if path else key
        items.update(_flat_spec(value, where) if isinstance(value, dict) else {where: value})
    return items


@pytest.mark.parametrize("writer", ["keras", "lamina"])
@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_the_same_edits_give_the_same_files(keras, keras_editor, capsys, tmp_path, writer, suffix):
    """Keras's own test sequence, applied by both editors to the same file, step by step."""
    path = tmp_path / f"source{suffix}"
    _write(keras if writer == "keras" else lamina, functional, path, train=False)
    keras_target, lamina_target = target(keras), target(lamina)
    editors = [keras_editor(str(path)), KerasFileEditor(path)]
    rng = np.random.default_rng(0)
    kernel, bias, other_kernel = rng.random((3, 3)), rng.random((3,)), rng.random((3, 3))
    steps = [
        ("compare", None),
        ("add_object", ("layers/dense_3", {"0": kernel})),
        ("compare", "error"),
        ("rename_object", ("dense_3", "dense_4")),
        ("rename_object", ("layers/dense_4", "dense_2")),
        ("add_weights", ("dense_2", {"1": bias})),
        ("compare", "success"),
        ("add_object", ("layers/dense_3", {"0": other_kernel})),
        ("compare", "error"),
        ("delete_object", ("layers/dense_3",)),
        ("delete_weight", ("dense_2", "1")),
        ("compare", "error"),
        ("add_weights", ("dense_2", {"1": np.zeros((7,))})),
        ("compare", "error"),
        ("delete_weight", ("dense_2", "1")),
        ("add_weights", ("dense_2", {"1": bias})),
        ("compare", "success"),
    ]
    capsys.readouterr()
    for method, arguments in steps:
        if method != "compare":
            for editor in editors:
                getattr(editor, method)(*arguments)
            _assert_same(editors[1].weights_dict, editors[0].weights_dict)
            continue
        expected = editors[0].compare(keras_target)
        keras_lines = _printed(capsys)
        result = editors[1].compare(lamina_target)
        lines = _printed(capsys)
        assert result["status"] == expected["status"] == (arguments or "error")
        assert _errors(lines) == _errors(keras_lines)
        # Keras adds each nested object's counts twice; lamina counts each mismatch and weight once.
        assert result["error_count"] == len(_errors(keras_lines))
        assert result["match_count"] == _keras_spec_count(keras_target, editors[1].weights_dict)
        assert lines[:-1] == keras_lines[:-1]  # all but the line with the count

    for editor, name in zip(editors, ("keras", "lamina")):
        editor.summary()
        editor.save(tmp_path / f"{name}.weights.h5")
    keras_summary, lamina_summary = np.array_split(_printed(capsys), 2)
    assert list(lamina_summary) == list(keras_summary)
    written = _file_weights(tmp_path / "lamina.weights.h5")
    assert list(written) == list(_file_weights(tmp_path / "keras.weights.h5"))
    _assert_same({key: value for key, value in written.items()}, _file_weights(tmp_path / "keras.weights.h5"))
    _assert_same(KerasFileEditor(tmp_path / "lamina.weights.h5").weights_dict, editors[1].weights_dict)

    expected = [value for key, value in _flat(editors[1].weights_dict).items() if key.startswith("layers/")]
    keras_target.load_weights(tmp_path / "lamina.weights.h5")
    lamina_target.load_weights(tmp_path / "lamina.weights.h5")
    for model in (keras_target, lamina_target):
        for actual, value in zip(_weights(model), expected):
            np.testing.assert_array_equal(actual, value.astype(actual.dtype))
    np.testing.assert_array_equal(_weights(lamina_target)[4], kernel.astype("float32"))


@pytest.mark.parametrize("writer", ["keras", "lamina"])
def test_edited_nested_model_with_optimizer_loads_in_both(keras, tmp_path, writer):
    source = tmp_path / "nested.keras"
    _write(keras if writer == "keras" else lamina, nested, source)
    editor = KerasFileEditor(source)
    reference = lamina.models.load_model(source)
    result = editor.compare(reference)
    assert result == {"status": "success", "error_count": 0, "match_count": len(_file_weights(source))}
    new_kernel = np.full((4, 3), 0.25, "float32")
    editor.add_weights("layers/sequential/layers/dense", {"0": new_kernel})
    editor.rename_object("layers/dense", "dense")  # a no-op: the same name
    editor.save(tmp_path / "edited.keras")
    editor.resave_weights(tmp_path / "edited.weights.h5")
    expected = dict(_file_weights(source), **{"layers/sequential/layers/dense/0": new_kernel})

    for path in ("edited.keras", "edited.weights.h5"):
        _assert_same(_file_weights(tmp_path / path), expected)
    keras_model = keras.saving.load_model(tmp_path / "edited.keras")
    lamina_model = lamina.models.load_model(tmp_path / "edited.keras")
    for model in (keras_model, lamina_model):
        np.testing.assert_array_equal(_weights(model)[0], new_kernel)
    optimizer_state = [expected[f"optimizer/{i}"] for i in range(14)]
    for actual, value in zip(keras_model.optimizer.variables, optimizer_state):
        np.testing.assert_array_equal(np.asarray(actual.numpy()), value)
    keras_weights = nested(keras)
    keras_weights.load_weights(tmp_path / "edited.weights.h5")
    for actual, value in zip(_weights(keras_weights), _weights(keras_model)):
        np.testing.assert_array_equal(actual, value)
    assert KerasFileEditor(tmp_path / "edited.keras").metadata["keras_version"] == editor.metadata["keras_version"]


def test_compare_reports_each_mismatch_once(tmp_path, capsys):
    model = sequential(lamina)
    model.save_weights(tmp_path / "m.weights.h5")
    editor = KerasFileEditor(tmp_path / "m.weights.h5")
    editor.delete_weight("layers/dense", "0")
    editor.add_weights("layers/dense", {"0": np.zeros((7, 7))})
    editor.delete_weight("layers/dense_1", "1")
    editor.add_weights("layers/dense_1", {"1": np.zeros((9,)), "2": np.zeros((1,))})
    editor.delete_object("batch_normalization")
    capsys.readouterr()
    result = editor.compare(model)
    lines = _printed(capsys)
    assert result == {"status": "error", "error_count": 4, "match_count": 2}
    assert _errors(lines) == ["...Weight shape mismatch for /layers/dense/0",
                              "...Object /layers/batch_normalization present in reference model, missing from "
                              "saved file",
                              "...Weight shape mismatch for /layers/dense_1/1",
                              "...Weight /layers/dense_1/2 present in saved file, missing from reference model"]
    assert lines[-1] == "Found 4 errors: saved file is not compatible with the reference model"


def test_weights_keep_their_dtype_and_accept_tensors(tmp_path):
    import torch

    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(3, dtype="float64")])
    model.save_weights(tmp_path / "m.weights.h5")
    editor = KerasFileEditor(tmp_path / "m.weights.h5")
    assert editor.weights_dict["layers"]["dense"]["0"].dtype == np.float64
    editor.add_weights("dense", {1: torch.ones(3, requires_grad=True), "2": [1, 2]})
    editor.add_object("layers/extra", {"0": model.layers[0].kernel})  # a lamina weight: its Keras layout
    editor.save(tmp_path / "c.weights.h5")
    reread = KerasFileEditor(tmp_path / "c.weights.h5").weights_dict["layers"]
    assert reread["dense"]["1"].dtype == np.float32 and reread["dense"]["2"].tolist() == [1, 2]
    np.testing.assert_array_equal(reread["extra"]["0"], _weights(model)[0])


def test_bfloat16_weights_keep_their_dtype(keras, tmp_path):
    import ml_dtypes

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, dtype="bfloat16")])
    model.save_weights(tmp_path / "b.weights.h5")
    editor = KerasFileEditor(tmp_path / "b.weights.h5")
    assert editor.weights_dict["layers"]["dense"]["0"].dtype == ml_dtypes.bfloat16
    editor.save(tmp_path / "c.weights.h5")
    assert KerasFileEditor(tmp_path / "c.weights.h5").weights_dict["layers"]["dense"]["0"].dtype == ml_dtypes.bfloat16


# ---------------------------------------------------------------------------------------------- errors
@pytest.fixture
def editor(tmp_path):
    sequential(lamina).save_weights(tmp_path / "m.weights.h5")
    return KerasFileEditor(tmp_path / "m.weights.h5")


@pytest.mark.parametrize("edit, message", [
    (lambda e: e.delete_object("layers/nope"), r"delete_object: Path 'layers/nope' not found .*object_name="
                                              r"'layers/nope'; expected a path in the file \(layers holds \['batch"),
    (lambda e: e.delete_object("layers/dense/0/x"), r"'layers/dense/0' is a weight, not an object"),
    (lambda e: e.rename_object("nope", "x"), r"rename_object: Source name 'nope' does not appear.*object_name='nope'"),
    (lambda e: e.rename_object("0", "x"), r"Name '0' occurs more than once .*complete path"),
    (lambda e: e.rename_object("dense", "a/b"), r"rename_object: Argument `new_name` should be a leaf name.*"
                                                r"new_name='a/b'"),
    (lambda e: e.rename_object("dense", "dense_1"), r"already exists beside 'dense'.*new_name='dense_1'"),
    (lambda e: e.rename_object("dense", "vars"), r"'vars' is reserved"),
    (lambda e: e.delete_weight("dense", "7"), r"delete_weight: Weight '7' not found in object 'dense'.*"
                                              r"weight_name='7'; expected one of .*\['0', '1'\]"),
    (lambda e: e.delete_weight("layers/dense/0", "1"), r"'layers/dense/0' is a weight, not an object"),
    (lambda e: e.add_weights("dense", [1, 2]), r"add_weights: Argument `weights` should be a dict .*"
                                               r"type\(weights\)=<class 'list'>"),
    (lambda e: e.add_weights("dense", {"0": np.zeros((7,))}),
     r"weight '0' of 'dense' has shape \(4, 5\); received weights\['0'\] of shape \(7,\). Expected the same shape"),
    (lambda e: e.add_weights("dense", {"1": [[1], [2, 3]]}), r"weights\['1'\] should be a numeric array"),
    (lambda e: e.add_weights("dense", {"1": np.array(["a"])}), r"weights\['1'\] should be a numeric array.*dtype <U1"),
    (lambda e: e.add_weights("dense", {"a/b": np.ones(1)}), r"keys of `weights` should be weight names"),
    (lambda e: e.add_object("nope/dense", {}), r"add_object: Path 'nope' not found in model.*object_path="
                                               r"'nope/dense'; expected a path below an existing object"),
    (lambda e: e.add_object("layers/dense", {}), r"'layers/dense' already exists .*delete_object it first"),
    (lambda e: e.add_object("layers/x", None), r"type\(weights\)=<class 'NoneType'>"),
    (lambda e: e.save("out.h5"), r"save: Invalid `filepath` argument: expected a `.weights.h5` extension.*"
                                 r"filepath='out.h5'"),
    (lambda e: e.save("out.keras"), r"is a weights file, without the model config .*filepath='out.keras'"),
    (lambda e: e.compare(object()), r"compare: `reference_model` should be a lamina model .*type object"),
])
def test_edit_errors_name_the_argument_and_leave_the_tree_alone(editor, edit, message):
    before = _flat(editor.weights_dict)
    with pytest.raises(ValueError, match=r"^KerasFileEditor\.\w+: ") as raised:
        edit(editor)
    assert re.search(message, str(raised.value)), str(raised.value)
    assert list(_flat(editor.weights_dict)) == list(before)


def _keras_zip(tmp_path, members):
    path = tmp_path / "odd.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_unreadable_files_are_refused_by_name(tmp_path):
    sequential(lamina).save(tmp_path / "good.keras")
    good = (tmp_path / "good.keras").read_bytes()
    (tmp_path / "truncated.keras").write_bytes(good[:len(good) // 2])
    (tmp_path / "text.weights.h5").write_text("not hdf5")
    sequential(lamina).save_weights(tmp_path / "legacy.h5")
    os.replace(tmp_path / "legacy.h5", tmp_path / "legacy.weights.h5")
    cases = {
        "missing.keras": r"File not found",
        "truncated.keras": r"not a valid Keras .keras file \(truncated, corrupt or not a zip",
        "text.weights.h5": r"not an HDF5 file",
        "legacy.weights.h5": r"legacy Keras HDF5 weights file",
        _keras_zip(tmp_path, {"readme.txt": "hello"}).name: r"unexpected archive member\(s\) \['readme.txt'\]",
    }
    for name, reason in cases.items():
        path = str(tmp_path / name)
        with pytest.raises(ValueError) as raised:
            KerasFileEditor(path)
        text = str(raised.value)
        assert text.startswith(f"KerasFileEditor cannot open filepath={path!r}: ") and "Expected a Keras 3" in text
        assert re.search(reason, text), text
    with pytest.raises(ValueError, match=r"^KerasFileEditor: Invalid filename: expected a `.keras` or `.weights.h5` "
                                         r"extension. Received: filepath='model.h5'"):
        KerasFileEditor("model.h5")


def test_random_damage_is_a_value_error(tmp_path):
    _trained(lamina, sequential).save(tmp_path / "good.keras")
    sequential(lamina).save_weights(tmp_path / "good.weights.h5")
    rng = np.random.default_rng(7)
    for suffix in (".keras", ".weights.h5"):
        data = (tmp_path / f"good{suffix}").read_bytes()
        for trial in range(40):
            path = tmp_path / f"bad{suffix}"
            path.write_bytes(corrupted(data, rng, trial, run_length=64))
            try:
                KerasFileEditor(path)
            except ValueError as error:
                assert str(error).startswith("KerasFileEditor cannot open filepath=")


def test_hostile_hdf5_is_refused(tmp_path):
    """Keras's own tests (external and soft links, virtual datasets), and a hard-link cycle."""
    import h5py

    victim = tmp_path / "victim.weights.h5"
    sequential(lamina).save_weights(victim)
    with h5py.File(tmp_path / "external.weights.h5", "w") as handle:
        handle["layers"] = h5py.ExternalLink(str(victim), "/layers")
    with h5py.File(tmp_path / "soft.weights.h5", "w") as handle:
        handle.create_group("real").create_dataset("inner", data=np.zeros((1,)))
        handle["layers"] = h5py.SoftLink("/real")
    with h5py.File(tmp_path / "virtual.weights.h5", "w") as handle:
        layout = h5py.VirtualLayout(shape=(5,), dtype="float32")
        layout[:] = h5py.VirtualSource(str(victim), "layers/dense/vars/1", shape=(5,))
        handle.create_group("layers/dense/vars").create_virtual_dataset("0", layout)
    with h5py.File(tmp_path / "cycle.weights.h5", "w") as handle:
        group = handle.create_group("layers/dense")
        group["loop"] = handle["layers"]
    with h5py.File(tmp_path / "strings.weights.h5", "w") as handle:
        handle.create_group("layers/dense/vars").create_dataset("0", data=np.array([b"x"]))
    for name, reason in {"external": "ExternalLink", "soft": "SoftLink", "virtual": "virtual",
                         "cycle": "contains itself", "strings": "weights must be numeric"}.items():
        with pytest.raises(ValueError, match=reason):
            KerasFileEditor(tmp_path / f"{name}.weights.h5")


def test_saves_are_atomic(tmp_path, monkeypatch, editor):
    editor.delete_object("layers/dense_1")
    for name in ("out.weights.h5", "m.weights.h5"):  # another file, and the file the editor opened
        path = tmp_path / name
        if not path.exists():
            path.write_bytes(b"old contents")
        before = path.read_bytes()
        calls = []

        def failing(node, key, value, original=h5.write_array):
            calls.append(key)
            if len(calls) == 3:
                raise KeyboardInterrupt  # an interrupted save
            return original(node, key, value)

        monkeypatch.setattr(h5, "write_array", failing)
        with pytest.raises(KeyboardInterrupt):
            editor.save(path)
        monkeypatch.undo()
        assert path.read_bytes() == before
        assert glob.glob(str(tmp_path / ".*.tmp")) == []
    editor.save(tmp_path / "m.weights.h5")
    assert "dense_1" not in KerasFileEditor(tmp_path / "m.weights.h5").weights_dict["layers"]
