"""The dataset utilities against Keras: pad_sequences and the image file order and pixels directly (Keras's
torch-backend code), timeseries/audio/text against batches Keras on TensorFlow gave (fixtures)."""

import importlib.util
import pathlib

import numpy as np
import pytest
import torch

import lamina
from lamina import utils

DATA = pathlib.Path(__file__).resolve().parent.parent / "data/utils"
FIXTURES = dict(np.load(DATA / "dataset_fixtures.npz"))
_spec = importlib.util.spec_from_file_location("make_dataset_fixtures", DATA / "make_dataset_fixtures.py")
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


def _reference_batches(prefix):
    count = len({key.split("/")[2] for key in FIXTURES if key.startswith(prefix + "/")})
    return [(FIXTURES[f"{prefix}/{i}/x"], FIXTURES[f"{prefix}/{i}/y"]) for i in range(count)]


@pytest.mark.parametrize("kwargs", [{}, dict(maxlen=2), dict(maxlen=5, padding="post", truncating="post"),
                                    dict(dtype="float32", value=-1.0), dict(maxlen=3, truncating="post")])
def test_pad_sequences_matches_keras(keras, kwargs):
    sequences = [[1, 2, 3], [], [4, 5], [6, 7, 8, 9]]
    ours, theirs = utils.pad_sequences(sequences, **kwargs), keras.utils.pad_sequences(sequences, **kwargs)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    nested = [np.ones((2, 3)), np.zeros((4, 3))]
    np.testing.assert_array_equal(utils.pad_sequences(nested, **kwargs), keras.utils.pad_sequences(nested, **kwargs))


def test_pad_sequences_errors_and_strings(keras):
    with pytest.raises(ValueError, match='Padding type "middle" not understood'):
        utils.pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="Found non-iterable: 3"):
        utils.pad_sequences([[1], 3])
    with pytest.raises(ValueError, match="You should set `dtype=object`"):
        utils.pad_sequences([["a"]], value="x")
    strings = [["a", "b"], ["c"]]
    np.testing.assert_array_equal(utils.pad_sequences(strings, dtype=object, value=""),
                                  keras.utils.pad_sequences(strings, dtype=object, value=""))


@pytest.mark.parametrize("name", sorted(fixtures.TIMESERIES_CASES))
def test_timeseries_windows_match_keras(name):
    data, targets = fixtures.timeseries_data()
    dataset = utils.timeseries_dataset_from_array(data, targets, **fixtures.TIMESERIES_CASES[name])
    expected = _reference_batches(f"timeseries/{name}")
    assert len(dataset) == len(expected)
    for (x, y), (expected_x, expected_y) in zip(dataset, expected):
        assert isinstance(x, torch.Tensor) and x.dtype == torch.float32 and y.dtype == torch.int64
        np.testing.assert_array_equal(x.numpy(), expected_x)
        np.testing.assert_array_equal(y.numpy(), expected_y)


def test_timeseries_shuffle_follows_keras_window_order_and_reshuffles():
    data = np.arange(30)
    dataset = utils.timeseries_dataset_from_array(data, None, sequence_length=3, batch_size=4, shuffle=True, seed=7)
    starts = np.arange(28)
    np.random.RandomState(7).shuffle(starts)  # Keras's order of the windows before its tf.data buffer
    first = torch.cat([batch[:, 0] for batch in dataset]).numpy()
    np.testing.assert_array_equal(first, starts)
    second = torch.cat([batch[:, 0] for batch in dataset]).numpy()
    assert sorted(second) == list(range(28)) and not np.array_equal(first, second)
    with pytest.raises(ValueError, match="`sequence_stride` must be lower than the length of the data"):
        utils.timeseries_dataset_from_array(data, None, 3, sequence_stride=30)
    with pytest.raises(ValueError, match="`end_index` must be higher than `start_index`"):
        utils.timeseries_dataset_from_array(data, None, 3, start_index=5, end_index=4)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    fixtures.make_files(root)
    return root


@pytest.mark.parametrize("name", sorted(fixtures.AUDIO_CASES))
def test_audio_batches_match_keras(files, name):
    dataset = utils.audio_dataset_from_directory(files / "audio", batch_size=3, shuffle=False, verbose=False,
                                                 **fixtures.AUDIO_CASES[name])
    assert dataset.class_names == ["cat", "dog"]
    expected = _reference_batches(f"audio/{name}")
    assert len(dataset) == len(expected)
    for (audio, labels), (expected_audio, expected_labels) in zip(dataset, expected):
        np.testing.assert_array_equal(audio.numpy(), expected_audio)
        np.testing.assert_array_equal(labels.numpy(), expected_labels)
        assert labels.dtype == torch.from_numpy(expected_labels).dtype


@pytest.mark.parametrize("name", sorted(fixtures.TEXT_CASES))
def test_text_batches_match_keras(files, name):
    dataset = utils.text_dataset_from_directory(files / "text", batch_size=2, shuffle=False, verbose=False,
                                                **fixtures.TEXT_CASES[name])
    expected = _reference_batches(f"text/{name}")
    for (texts, labels), (expected_texts, expected_labels) in zip(dataset, expected):
        assert texts == list(expected_texts)  # Keras cuts bytes, here no character spans the cut
        np.testing.assert_array_equal(labels.numpy(), expected_labels)


def _make_images(root, rng):
    from PIL import Image

    for label, count in (("cats", 5), ("dogs", 4), ("zebras", 3)):
        (root / label).mkdir(parents=True)
        for index in range(count):
            size = (int(rng.integers(5, 20)), int(rng.integers(5, 20)))
            mode = ("RGB", "RGBA", "L")[index % 3]
            pixels = rng.integers(0, 256, (size[1], size[0]) + (() if mode == "L" else (len(mode),)), dtype=np.uint8)
            Image.fromarray(pixels, mode).save(root / label / f"img{index}.png")
    (root / "cats" / "notes.txt").write_text("not an image")


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    _make_images(root, np.random.default_rng(3))
    return root


@pytest.mark.parametrize("kwargs", [
    dict(shuffle=False),
    dict(seed=11, validation_split=0.25, subset="training", label_mode="categorical"),
    dict(seed=11, validation_split=0.25, subset="validation", color_mode="grayscale", interpolation="nearest"),
    dict(seed=5, image_size=(6, 9), crop_to_aspect_ratio=True, color_mode="rgba", label_mode="binary",
         class_names=["dogs", "zebras"]),
    dict(seed=5, image_size=7, pad_to_aspect_ratio=True, interpolation="bicubic", data_format="channels_first"),
    dict(shuffle=False, labels=None),
])
def test_image_dataset_matches_keras(keras, image_dir, kwargs):
    from keras.src.utils import dataset_utils, image_dataset_utils

    kwargs = {"image_size": (8, 10), "batch_size": 4, **kwargs}
    dataset = utils.image_dataset_from_directory(image_dir, verbose=False, **kwargs)
    labels_argument = kwargs.get("labels", "inferred")
    paths, labels, class_names = dataset_utils.index_directory(
        str(image_dir), labels_argument, image_dataset_utils.ALLOWLIST_FORMATS, class_names=kwargs.get("class_names"),
        shuffle=kwargs.get("shuffle", True), seed=kwargs.get("seed"), verbose=False)
    if kwargs.get("subset"):
        paths, labels = dataset_utils.get_training_or_validation_split(paths, labels, kwargs["validation_split"],
                                                                       kwargs["subset"])
    assert dataset.file_paths == paths and dataset.class_names == class_names
    size = kwargs["image_size"] if isinstance(kwargs["image_size"], tuple) else (kwargs["image_size"],) * 2
    channels = {"rgb": 3, "rgba": 4, "grayscale": 1}[kwargs.get("color_mode", "rgb")]
    data_format = kwargs.get("data_format", "channels_last")
    expected_images = np.stack([keras.ops.convert_to_numpy(image_dataset_utils._load_image_grain(
        path, size, channels, kwargs.get("interpolation", "bilinear"), data_format,
        kwargs.get("crop_to_aspect_ratio", False), kwargs.get("pad_to_aspect_ratio", False))) for path in paths])
    batches = list(dataset)  # one pass: a shuffled dataset reshuffles after each pass
    images = torch.cat(batches if labels_argument is None else [images for images, _ in batches]).numpy()
    assert images.dtype == np.float32
    np.testing.assert_allclose(images, expected_images, atol=1e-3)
    if labels_argument is not None:
        ours = torch.cat([batch_labels for _, batch_labels in batches]).numpy()
        mode = kwargs.get("label_mode", "int")
        expected = {"int": np.asarray(labels, "int32"), "binary": np.asarray(labels, "float32")[:, None],
                    "categorical": np.eye(len(class_names), dtype="float32")[labels]}[mode]
        assert ours.dtype == expected.dtype
        np.testing.assert_array_equal(ours, expected)


def test_image_dataset_both_subsets_train_and_errors(image_dir):
    train, validation = utils.image_dataset_from_directory(image_dir, image_size=(8, 8), batch_size=3, seed=1,
                                                           validation_split=0.3, subset="both", verbose=False)
    assert not set(train.file_paths) & set(validation.file_paths)
    assert len(train.file_paths) + len(validation.file_paths) == 12 and len(validation.file_paths) == 3
    model = lamina.Sequential([lamina.Input((8, 8, 3)), lamina.layers.Rescaling(1 / 255) if hasattr(
        lamina.layers, "Rescaling") else lamina.layers.Lambda(lambda x: x / 255), lamina.layers.Flatten(),
        lamina.layers.Dense(3)])
    model.compile(optimizer="adam", loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(train, validation_data=validation, epochs=2, verbose=0)
    assert len(history.history["val_accuracy"]) == 2
    for kwargs, match in [(dict(validation_split=0.2, subset="training"), "must provide a `seed`"),
                          (dict(subset="training"), "`validation_split` must be set"),
                          (dict(label_mode="binary"), "exactly 2 class_names"),
                          (dict(color_mode="cmyk"), "`color_mode` must be one of"),
                          (dict(interpolation="lanczos3"), "TensorFlow's only"),
                          (dict(labels="folders"), "`labels` argument should be a list/tuple"),
                          (dict(class_names=["cats", "birds"]), "did not match the names of the subdirectories")]:
        with pytest.raises(ValueError, match=match):
            utils.image_dataset_from_directory(image_dir, verbose=False, **kwargs)


@pytest.mark.parametrize("kwargs", [dict(left_size=0.75), dict(right_size=3), dict(left_size=9, right_size=0.25),
                                    dict(left_size=0.6, shuffle=True, seed=3)])
def test_split_dataset_matches_keras_on_torch(keras, kwargs):
    x, y = np.arange(24, dtype="float32").reshape(12, 2), np.arange(12)
    ours = utils.split_dataset((x, y), **kwargs)
    theirs = keras.utils.split_dataset((x, y), **kwargs)
    for mine, reference in zip(ours, theirs):
        assert len(mine) == len(reference)
        if kwargs.get("shuffle"):  # Keras's random_split with the seeded generator: the same samples
            assert [int(s[1]) for s in mine] == [int(s[1]) for s in reference]
    left, right = ours
    if not kwargs.get("shuffle"):  # Keras 3.15's torch path shuffles even without `shuffle`; lamina does not
        assert [int(s[1]) for s in left] == list(range(len(left)))
        assert [int(s[1]) for s in right] == list(range(12 - len(right), 12))
    with pytest.raises(ValueError, match="At least one of the `left_size` or `right_size` must be specified"):
        utils.split_dataset(x)
