"""The other keras.utils functions against Keras: image files, Progbar, Config, model graphs, get_file,
serialization and registration, get_source_inputs."""

import io
import json
import os
import shutil
import tarfile
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina import utils


def test_every_keras_utils_name_exists(keras):
    missing = [n for n in dir(keras.utils) if not n.startswith("_") and not hasattr(utils, n)]
    assert missing == ["FeatureSpace", "legacy"]  # TensorFlow-only or Keras-internal
    assert utils.Sequence is utils.PyDataset


@pytest.fixture
def picture(tmp_path):
    from PIL import Image

    path = tmp_path / "picture.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (13, 17, 4), dtype=np.uint8), "RGBA").save(path)
    return path


@pytest.mark.parametrize("kwargs", [{}, dict(color_mode="grayscale"), dict(color_mode="rgba"),
                                    dict(target_size=(6, 9)), dict(target_size=(8, 5), interpolation="bilinear",
                                                                   keep_aspect_ratio=True)])
def test_load_img_and_img_to_array_match_keras(keras, picture, kwargs):
    ours, theirs = utils.load_img(picture, **kwargs), keras.utils.load_img(picture, **kwargs)
    assert (ours.mode, ours.size) == (theirs.mode, theirs.size)
    for data_format in ("channels_last", "channels_first"):
        array = utils.img_to_array(ours, data_format=data_format)
        np.testing.assert_array_equal(array, keras.utils.img_to_array(theirs, data_format=data_format))
        assert array.dtype == np.float32
    with open(picture, "rb") as f:
        np.testing.assert_array_equal(np.asarray(utils.load_img(io.BytesIO(f.read()), **kwargs)), np.asarray(ours))


@pytest.mark.parametrize("shape,scale", [((5, 4, 3), True), ((5, 4, 1), False), ((5, 4, 4), True),
                                         ((5, 4, 1), True)])
def test_array_to_img_and_save_img_match_keras(keras, tmp_path, shape, scale):
    array = np.random.default_rng(1).uniform(0, 255, shape).astype("float32")
    ours, theirs = utils.array_to_img(array, scale=scale), keras.utils.array_to_img(array, scale=scale)
    assert ours.mode == theirs.mode
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    utils.save_img(tmp_path / "ours.png", array, scale=scale)
    keras.utils.save_img(tmp_path / "theirs.png", array, scale=scale)
    np.testing.assert_array_equal(np.asarray(utils.load_img(tmp_path / "ours.png", color_mode="rgba")),
                                  np.asarray(utils.load_img(tmp_path / "theirs.png", color_mode="rgba")))
    with pytest.raises(ValueError, match="Expected image array to have rank 3"):
        utils.array_to_img(array[0])


@pytest.mark.parametrize("shape,size,data_format", [
    ((13, 17, 3), (6, 9), "channels_last"), ((2, 13, 17, 1), (8, 5), "channels_last"),
    ((3, 10, 4), (7, 7), "channels_first"), ((2, 3, 9, 16), (4, 11), "channels_first"),
    ((5, 5, 2), (12, 3), "channels_last"), ((1, 40, 30, 3), (1, 1), "channels_last")])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_smart_resize_matches_keras(keras, shape, size, data_format, interpolation, dtype):
    image = np.random.default_rng(sum(shape)).uniform(0, 255, shape).astype(dtype)
    ours = utils.smart_resize(image, size, interpolation=interpolation, data_format=data_format)
    theirs = keras.preprocessing.image.smart_resize(image, size, interpolation=interpolation,
                                                    data_format=data_format)
    assert isinstance(ours, np.ndarray) and ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-3 if dtype == "float32" else 1)
    assert isinstance(utils.smart_resize(torch.tensor(image), size, data_format=data_format), torch.Tensor)


def test_smart_resize_refuses_what_keras_refuses():
    with pytest.raises(ValueError, match=r"smart_resize: expected an image array.*Received: shape=\(4, 4\)"):
        utils.smart_resize(np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError, match=r"`size` must be a tuple of 2 integers.*size=\(2, 2, 2\)"):
        utils.smart_resize(np.zeros((4, 4, 1)), (2, 2, 2))
    with pytest.raises(TypeError, match=r"unexpected keyword arguments: \['antialias'\]"):
        utils.smart_resize(np.zeros((4, 4, 1)), (2, 2), antialias=True)


def test_save_img_warns_for_rgba_jpeg(tmp_path):
    with pytest.warns(UserWarning, match="JPEG format does not support RGBA"):
        utils.save_img(tmp_path / "x.jpg", np.ones((4, 4, 4)))
    assert utils.load_img(tmp_path / "x.jpg").size == (4, 4)


def test_progbar_averages_like_keras(keras, capsys):
    updates = [(1, [("loss", 1.0), ("acc", 0.5)]), (3, [("loss", 0.5), ("acc", 0.7)]), (4, [("loss", 0.2)]),
               (6, [("loss", 0.1), ("acc", 0.9)])]
    for kwargs in ({}, dict(stateful_metrics=["acc"]), dict(stateless_metrics=["loss"])):
        ours, theirs = utils.Progbar(6, verbose=0, **kwargs), keras.utils.Progbar(6, verbose=0, **kwargs)
        for current, values in updates[:-1]:
            ours.update(current, values)
            theirs.update(current, values)
            for name in ours._values:
                total, count = theirs._values[name]
                assert ours.average(name) == pytest.approx(total / max(1, count))
        ours.add(2, updates[-1][1])
        theirs.add(2, updates[-1][1])
        assert ours._values == theirs._values  # the final update replaces the averages, as in Keras
    bar = utils.Progbar(3, verbose=2)
    for step in range(3):
        bar.update(step + 1, [("loss", 0.25)])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("3/3 - ") and line.endswith(" - loss: 0.2500")
    with pytest.raises(ValueError, match="Only one of `stateful_metrics` or `stateless_metrics`"):
        utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


def test_config_behaves_like_keras(keras):
    for lib in (keras, lamina):
        config = lib.utils.Config(learning_rate=0.1, momentum=0.9)
        config.seed = 3
        config["b"] = 1
        assert (config.learning_rate, config["seed"], config.get("x", 7)) == (0.1, 3, 7)
        assert list(config) == ["b", "learning_rate", "momentum", "seed"]
        assert json.loads(config.to_json()) == config.as_dict()
        with pytest.raises(AttributeError, match="Unknown attribute: 'momentun'. Did you mean 'momentum'?"):
            config.momentun
        config.freeze()
        assert config.frozen
        with pytest.raises(ValueError, match="the config is frozen"):
            config.c = 2
        config.unfreeze()
        config.pop("b")
    assert repr(lamina.utils.Config(a=1)) == repr(keras.utils.Config(a=1))


def _nodes(dot):
    return dot.get_nodes() + [node for subgraph in dot.get_subgraphs() for node in _nodes(subgraph)]


def _graph(lib, dot):
    names = {}
    for node in _nodes(dot):
        label = node.get_label()
        if label:
            names[node.get_name().strip('"')] = label.split("<b>")[1].split("</b>")[0]
    edges = sorted((names[e.get_source().strip('"')], names[e.get_destination().strip('"')]) for e in dot.get_edges())
    return sorted(names.values()), edges


def _two_branch(lib):
    inputs = lib.Input((4,), name="features")
    left = lib.layers.Dense(3, name="left", activation="relu")(inputs)
    right = lib.layers.Dense(3, name="right")(inputs)
    merged = lib.layers.Concatenate(name="merge")([left, right])
    inner = lib.Sequential([lib.Input((6,)), lib.layers.Dense(2, name="inner_dense")], name="inner")
    return lib.Model(inputs, lib.layers.Dense(1, name="out")(inner(merged)), name="two_branch")


@pytest.mark.parametrize("expand_nested", [False, True])
def test_model_to_dot_draws_keras_graph(keras, expand_nested):
    ours = utils.model_to_dot(_two_branch(lamina), show_shapes=True, show_dtype=True, show_layer_activations=True,
                              show_trainable=True, expand_nested=expand_nested)
    theirs = keras.utils.model_to_dot(_two_branch(keras), show_shapes=True, show_dtype=True,
                                      show_layer_activations=True, show_trainable=True, expand_nested=expand_nested)
    assert _graph(lamina, ours) == _graph(keras, theirs)
    label = next(n.get_label() for n in ours.get_nodes() if "<b>left</b>" in (n.get_label() or ""))
    assert "Activation: <b>relu</b>" in label and "Input shape: <b>(None, 4)</b>" in label and "Trainable" in label
    sequential = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, name="a"), lamina.layers.Dense(1,
                                                                                                             name="b")])
    assert _graph(lamina, utils.model_to_dot(sequential))[1] == [("a", "b")]


def test_plot_model_writes_a_picture_or_says_what_is_missing(tmp_path, monkeypatch):
    from lamina.utils import model_visualization

    model = _two_branch(lamina)
    if model_visualization.check_graphviz():
        utils.plot_model(model, to_file=tmp_path / "model.png", show_shapes=True)
        assert (tmp_path / "model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setattr(model_visualization, "_pydot", lambda: None)
    with pytest.raises(ImportError, match=r"You must install pydot \(`pip install pydot`\) for `plot_model` to work"):
        utils.plot_model(model, to_file=tmp_path / "x.png")
    with pytest.raises(ImportError, match="You must install pydot"):
        utils.model_to_dot(model)


def test_get_file_reads_caches_and_local_files_without_network(tmp_path):
    source = tmp_path / "source.txt"
    source.write_text("payload")
    cache = tmp_path / "cache"
    cache.mkdir()
    copied = utils.get_file("data.txt", origin=str(source), cache_dir=cache)
    assert copied == str(cache / "datasets" / "data.txt") and open(copied).read() == "payload"
    digest = "239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5"  # sha256 of "payload"
    assert utils.get_file("data.txt", origin="https://example.invalid/data.txt", cache_dir=cache,
                          file_hash=digest) == copied  # in the cache: no download needed
    assert utils.get_file(origin=source.as_uri(), cache_dir=cache, cache_subdir="other").endswith("other/source.txt")
    with pytest.raises(FileNotFoundError, match="is not in the cache and lamina does not download. Put the file at"):
        utils.get_file("absent.txt", origin="https://example.invalid/absent.txt", cache_dir=cache)
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected"):
        utils.get_file("bad.txt", origin=str(source), cache_dir=cache, file_hash="0" * 64)
    with pytest.raises(ValueError, match="Paths are no longer accepted as the `fname` argument"):
        utils.get_file("a/b.txt", origin=str(source), cache_dir=cache)


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_get_file_extracts_archives_as_keras_names_them(tmp_path, kind):
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "a.txt").write_text("A")
    archive = tmp_path / ("pack.tar.gz" if kind == "tar" else "pack.zip")
    (tmp_path / "cache").mkdir()  # as in Keras, a missing cache folder would mean /tmp/.keras
    if kind == "tar":
        with tarfile.open(archive, "w:gz") as f:
            f.add(folder / "a.txt", arcname="pack/a.txt")
    else:
        with zipfile.ZipFile(archive, "w") as f:
            f.write(folder / "a.txt", "pack/a.txt")
    extracted = utils.get_file(archive.name, origin=str(archive), extract=True, cache_dir=tmp_path / "cache")
    assert extracted == str(tmp_path / "cache/datasets/pack_extracted")
    assert open(os.path.join(extracted, "pack", "a.txt")).read() == "A"
    shutil.rmtree(tmp_path / "cache/datasets")
    unnamed = utils.get_file(origin=str(archive), extract=True, cache_dir=tmp_path / "cache")
    assert unnamed == str(tmp_path / "cache/datasets" / archive.name)  # Keras: the archive's name, as a folder


def test_serialization_and_registration_match_keras(keras):
    dense = lamina.layers.Dense(2, name="d")
    config = utils.serialize_keras_object(dense)
    keras_config = keras.utils.serialize_keras_object(keras.layers.Dense(2, name="d"))
    assert (config["module"], config["class_name"], config["registered_name"]) == \
        (keras_config["module"], keras_config["class_name"], keras_config["registered_name"])
    rebuilt = utils.deserialize_keras_object(keras_config)
    assert isinstance(rebuilt, lamina.layers.Dense) and rebuilt.units == 2
    assert utils.deserialize_keras_object("not_registered") == keras.utils.deserialize_keras_object("not_registered")

    @utils.register_keras_serializable(package="my_package", name="Doubler")
    class Doubler(lamina.layers.Layer):
        def call(self, x):
            return 2 * x

    assert utils.get_registered_name(Doubler) == "my_package>Doubler"
    assert utils.get_registered_object("my_package>Doubler") is Doubler
    assert utils.get_custom_objects()["my_package>Doubler"] is Doubler
    assert type(utils.deserialize_keras_object(utils.serialize_keras_object(Doubler()))) is Doubler

    class Local(lamina.layers.Layer):
        pass

    with utils.custom_object_scope({"Local": Local}):
        assert utils.get_registered_object("Local") is Local
    assert utils.get_registered_object("Local") is None
    assert utils.CustomObjectScope is utils.custom_object_scope


def test_get_source_inputs_and_is_keras_tensor_match_keras(keras):
    for lib in (keras, lamina):
        first, second = lib.Input((3,)), lib.Input((3,))
        merged = lib.layers.Add()([lib.layers.Dense(3)(first), second])
        output = lib.layers.Dense(1)(merged)
        assert lib.utils.get_source_inputs(output) == [first, second]
        assert lib.utils.get_source_inputs(first) == [first]
        assert lib.utils.is_keras_tensor(output) and not lib.utils.is_keras_tensor(np.ones(3))
    with pytest.raises(ValueError, match="expects a symbolic tensor"):
        utils.get_source_inputs(np.ones(3))
    x, y, w = np.ones(2), np.zeros(2), np.ones(2)
    assert utils.unpack_x_y_sample_weight(utils.pack_x_y_sample_weight(x, y, w)) == (x, y, w)
