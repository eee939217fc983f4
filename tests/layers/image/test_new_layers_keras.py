"""ContrastLimitedAdaptiveHistogramEqualization, MaxNumBoundingBoxes and RandomElasticTransform against Keras 3
(torch backend): values over sizes, tile grids, clip limits, value ranges, data formats and dtypes; boxes
padded and truncated; elastic transforms at fixed transformations and whole seeded calls; shapes, configs
and argument errors.

Where Keras-torch departs from Keras's rule (CLAHE's padding and clip limit, the elastic noise seed), the
reference is Keras-torch run the way its other backends compute (docs/preprocessing.md)."""

import itertools

import numpy as np
import pytest
import torch
from keras_reference import assert_close

import lamina

CLAHE = "ContrastLimitedAdaptiveHistogramEqualization"


def _images(shape, value_range=(0, 255), seed=0):
    return np.random.default_rng(seed).uniform(*value_range, shape).astype("float32")


# ------------------------------------------------------------------------------------------------------ CLAHE
@pytest.fixture
def keras_clahe_as_jax_tf(keras, monkeypatch):
    """Keras's CLAHE as its JAX and TensorFlow backends compute it: float histograms (Keras-torch's
    ``one_hot`` is int64, which truncates the clip limit to an int) and NumPy's symmetric padding
    (Keras-torch pads "symmetric" as "replicate"): the image is padded symmetrically here, to whole tiles,
    and the result cropped. Checked against Keras 3.15.1 on JAX 0.10.2 and TensorFlow 2.21.0."""
    from keras.src.backend.torch import nn as torch_nn

    one_hot = torch_nn.one_hot
    monkeypatch.setattr(torch_nn, "one_hot", lambda x, n, axis=-1, dtype=None, sparse=False:
                        one_hot(x, n, axis, dtype or "float32", sparse))

    def run(images, data_format="channels_last", **kwargs):
        layer = keras.layers.ContrastLimitedAdaptiveHistogramEqualization(data_format=data_format, **kwargs)
        grid = kwargs.get("tile_grid_size", (8, 8))
        axes = (1, 2) if data_format == "channels_last" else (2, 3)
        pads = [(0, 0)] * 4
        for axis, tiles in zip(axes, grid):
            pads[axis] = (0, -(-images.shape[axis] // tiles) * tiles - images.shape[axis])
        padded = np.pad(images, pads, mode="symmetric")
        out = layer(padded).cpu().numpy()
        return out[:, :images.shape[1], :images.shape[2]] if data_format == "channels_last" else \
            out[:, :, :images.shape[2], :images.shape[3]]

    return run


CLAHE_SHAPES = [(2, 16, 16, 3), (2, 13, 11, 2), (1, 30, 17, 3), (3, 5, 3, 1), (1, 40, 64, 1)]
CLAHE_GRIDS = [(8, 8), (3, 4), (2, 2), (1, 5)]
CLAHE_CLIPS = [0.0, 1.5, 4.0, 40.0]


@pytest.mark.parametrize("shape,grid,clip_limit", list(itertools.product(CLAHE_SHAPES, CLAHE_GRIDS, CLAHE_CLIPS)))
def test_clahe_matches_keras(keras_clahe_as_jax_tf, shape, grid, clip_limit):
    images = _images(shape)
    kwargs = {"tile_grid_size": grid, "clip_limit": clip_limit}
    expected = keras_clahe_as_jax_tf(images, **kwargs)
    ours = lamina.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)
    assert_close(ours(images), expected, what=f"CLAHE{kwargs} on {shape}")


@pytest.mark.parametrize("data_format,value_range", list(itertools.product(["channels_last", "channels_first"],
                                                                           [(0, 255), (0, 1), (-1, 1)])))
def test_clahe_value_ranges_and_data_formats(keras_clahe_as_jax_tf, data_format, value_range):
    images = _images((2, 19, 14, 3), value_range)
    if data_format == "channels_first":
        images = images.transpose(0, 3, 1, 2).copy()
    kwargs = {"tile_grid_size": (4, 3), "clip_limit": 3.0, "value_range": value_range}
    expected = keras_clahe_as_jax_tf(images, data_format, **kwargs)
    ours = lamina.layers.ContrastLimitedAdaptiveHistogramEqualization(data_format=data_format, **kwargs)
    assert_close(ours(images), expected, what=f"CLAHE{kwargs} {data_format}")


@pytest.mark.parametrize("shape,grid,clip_limit", [((2, 32, 32, 3), (2, 2), 4.0), ((1, 16, 24, 1), (4, 3), 8.0),
                                                   ((2, 24, 24, 3), (3, 3), 0.0), ((1, 21, 15, 2), (3, 5), 0.0)])
def test_clahe_equals_keras_torch_where_it_follows_the_rule(keras, shape, grid, clip_limit):
    """Whole tiles (no padding) and an integer per-level limit: Keras-torch itself gives these numbers."""
    images = _images(shape)
    kwargs = {"tile_grid_size": grid, "clip_limit": clip_limit}
    theirs = keras.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)
    ours = lamina.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)
    assert_close(ours(images), theirs(images))


def test_clahe_uint8_and_single_images(keras_clahe_as_jax_tf):
    images = np.random.default_rng(2).integers(0, 256, (2, 21, 18, 3)).astype("uint8")
    ours = lamina.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(4, 4), clip_limit=2.0)
    out = ours(images)
    assert out.dtype == torch.uint8  # the input's dtype, as Keras (truncated)
    expected = keras_clahe_as_jax_tf(images, tile_grid_size=(4, 4), clip_limit=2.0)
    assert expected.dtype == np.uint8
    np.testing.assert_array_equal(out.numpy(), expected)
    single = ours(images[0])
    assert single.shape == images[0].shape
    np.testing.assert_array_equal(single.numpy(), expected[0])


def test_clahe_applies_at_inference_and_keeps_shapes(keras):
    images = _images((2, 12, 10, 3))
    layer = lamina.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))
    assert_close(layer(images), layer(images, training=True))
    assert not np.allclose(layer(images).numpy(), images)
    assert layer.compute_output_shape((None, 12, 10, 3)) == (None, 12, 10, 3)
    assert layer(lamina.Input((12, 10, 3))).shape == (None, 12, 10, 3)
    theirs = keras.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))
    assert set(layer.get_config()) == set(theirs.get_config())
    assert lamina.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=3).tile_grid_size == (3, 3)


def test_clahe_passes_labels_boxes_and_masks():
    """Keras 3.15's CLAHE raises NotImplementedError on dict inputs; lamina equalizes the images and passes the
    rest unchanged, as its other tone layers do."""
    data = _detection_batch(3)
    layer = lamina.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2),
                                                                        bounding_box_format="xyxy")
    out = layer(data)
    assert_close(out["images"], layer(data["images"]))
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"].numpy(), data["bounding_boxes"]["boxes"])
    np.testing.assert_array_equal(out["segmentation_masks"].numpy(), data["segmentation_masks"])
    np.testing.assert_array_equal(out["labels"].numpy(), data["labels"])


@pytest.mark.parametrize("kwargs,match", [
    ({"clip_limit": -1.0}, r"ContrastLimitedAdaptiveHistogramEqualization: the `clip_limit` argument must be a "
                           r"non-negative number\. Received: clip_limit=-1\.0"),
    ({"clip_limit": "4"}, r"`clip_limit` .* Received: clip_limit='4'"),
    ({"tile_grid_size": (0, 4)}, r"ContrastLimitedAdaptiveHistogramEqualization: the `tile_grid_size` argument "
                                 r"must contain positive ints\. Received: tile_grid_size=\(0, 4\)"),
    ({"tile_grid_size": (2, 2, 2)}, r"`tile_grid_size` argument must be an int or a tuple of 2 ints"),
    ({"value_range": (0,)}, r"ContrastLimitedAdaptiveHistogramEqualization: the `value_range` argument must be a "
                            r"pair of numbers"),
])
def test_clahe_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lamina.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)


# ------------------------------------------------------------------------------------------ MaxNumBoundingBoxes
def _detection_batch(boxes_per_image, batch=2, seed=0, dtype="float32"):
    generator = np.random.default_rng(seed)
    images = generator.uniform(0, 255, (batch, 10, 8, 3)).astype(dtype)
    corners = np.sort(generator.uniform(0, 8, (batch, boxes_per_image, 2, 2)), axis=2)
    return {"images": images,
            "bounding_boxes": {"boxes": corners.reshape(batch, boxes_per_image, 4).astype("float32"),
                               "labels": generator.integers(0, 5, (batch, boxes_per_image))},
            "labels": generator.integers(0, 3, (batch,)),
            "segmentation_masks": generator.integers(0, 4, (batch, 10, 8, 1)).astype("float32")}


def _assert_same_outputs(ours, theirs):
    for key in ("images", "labels", "segmentation_masks"):
        if key in theirs:
            assert ours[key].dtype == theirs[key].dtype, key
            np.testing.assert_array_equal(ours[key].numpy(), theirs[key].cpu().numpy())
    for key in ("boxes", "labels"):
        got, want = ours["bounding_boxes"][key], theirs["bounding_boxes"][key]
        assert got.dtype == want.dtype, key
        np.testing.assert_array_equal(got.numpy(), want.cpu().numpy())


@pytest.mark.parametrize("boxes_per_image,max_number,fill_value,dtype",
                         list(itertools.product([1, 3, 5, 9], [1, 3, 6], [-1, 0, 7], ["float32", "uint8"])))
def test_max_num_bounding_boxes_pads_and_truncates_as_keras(keras, boxes_per_image, max_number, fill_value, dtype):
    data = _detection_batch(boxes_per_image, dtype=dtype)
    kwargs = {"max_number": max_number, "fill_value": fill_value, "bounding_box_format": "xyxy"}
    theirs = keras.layers.MaxNumBoundingBoxes(**kwargs)(_copy(data))
    ours = lamina.layers.MaxNumBoundingBoxes(**kwargs)(data)
    _assert_same_outputs(ours, theirs)
    assert tuple(ours["bounding_boxes"]["boxes"].shape) == (2, max_number, 4)
    assert tuple(ours["bounding_boxes"]["labels"].shape) == (2, max_number)


def _copy(data):
    return {k: (_copy(v) if isinstance(v, dict) else v.copy()) for k, v in data.items()}


@pytest.mark.parametrize("boxes_per_image", [2, 6])
def test_max_num_bounding_boxes_single_images_and_inference(keras, boxes_per_image):
    data = _detection_batch(boxes_per_image, batch=1)
    single = {"images": data["images"][0], "bounding_boxes": {k: v[0] for k, v in data["bounding_boxes"].items()}}
    kwargs = {"max_number": 4, "bounding_box_format": "rel_xyxy"}
    theirs = keras.layers.MaxNumBoundingBoxes(**kwargs)(_copy(single))
    ours = lamina.layers.MaxNumBoundingBoxes(**kwargs)
    _assert_same_outputs(ours(single), theirs)
    _assert_same_outputs(ours(single, training=True), theirs)
    assert tuple(ours(single)["bounding_boxes"]["boxes"].shape) == (4, 4)


def test_max_num_bounding_boxes_ragged_lists_and_plain_images(keras):
    boxes = [[[0, 0, 2, 2], [1, 1, 3, 3], [2, 2, 4, 4]], [[0, 1, 2, 3]]]
    labels = [[1, 2, 3], [4]]
    layer = lamina.layers.MaxNumBoundingBoxes(max_number=2, bounding_box_format="xyxy")
    out = layer({"images": np.zeros((2, 6, 6, 3), "float32"), "bounding_boxes": {"boxes": boxes, "labels": labels}})
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"].numpy(), [[1, 2], [4, -1]])
    # a ragged list is first padded to its longest (box [0, 0, 0, 0], label -1), then to max_number
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"].numpy()[1], [[0, 1, 2, 3], [0, 0, 0, 0]])
    images = _images((2, 5, 4, 3)).astype("float64")
    theirs = keras.layers.MaxNumBoundingBoxes(max_number=2)(images)
    ours = layer(images)
    assert ours.dtype == theirs.dtype == torch.float32
    np.testing.assert_array_equal(ours.numpy(), theirs.cpu().numpy())


def test_max_num_bounding_boxes_shapes_and_config(keras):
    layer = lamina.layers.MaxNumBoundingBoxes(max_number=5, fill_value=0, bounding_box_format="xyxy")
    shapes = {"images": (None, 8, 8, 3), "bounding_boxes": {"boxes": (None, 12, 4), "labels": (None, 12)}}
    theirs = keras.layers.MaxNumBoundingBoxes(max_number=5, bounding_box_format="xyxy")
    expected = theirs.compute_output_shape({"images": (None, 8, 8, 3), "bounding_boxes": {"boxes": (None, 12, 4),
                                                                                          "labels": (None, 12)}})
    got = layer.compute_output_shape(shapes)
    assert got["images"] == tuple(expected["images"])
    assert {k: tuple(v) for k, v in got["bounding_boxes"].items()} == \
        {k: tuple(v) for k, v in expected["bounding_boxes"].items()}
    assert layer.compute_output_shape((None, 8, 8, 3)) == (None, 8, 8, 3)
    with pytest.raises(ValueError, match=r"MaxNumBoundingBoxes: `bounding_boxes` may hold only 'boxes' and "
                                         r"'labels'\. Received extra keys: \['scores'\]"):
        layer.compute_output_shape({**shapes, "bounding_boxes": {**shapes["bounding_boxes"], "scores": (None, 12)}})
    config = layer.get_config()
    assert set(config) == set(theirs.get_config()) | {"fill_value"}  # Keras's config omits fill_value
    assert lamina.layers.MaxNumBoundingBoxes.from_config(config).fill_value == 0
    assert keras.layers.MaxNumBoundingBoxes.from_config(config).fill_value == 0


@pytest.mark.parametrize("kwargs,match", [
    ({"max_number": 0}, r"MaxNumBoundingBoxes: the `max_number` argument must be a positive int\. "
                        r"Received: max_number=0"),
    ({"max_number": 2.5}, r"Received: max_number=2\.5"),
    ({"max_number": 3, "fill_value": 0.5}, r"MaxNumBoundingBoxes: the `fill_value` argument must be an int\. "
                                           r"Received: fill_value=0\.5"),
])
def test_max_num_bounding_boxes_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lamina.layers.MaxNumBoundingBoxes(**kwargs)


def test_max_num_bounding_boxes_needs_a_box_format():
    with pytest.raises(ValueError, match=r"MaxNumBoundingBoxes: the input has 'bounding_boxes' but the layer has "
                                         r"no `bounding_box_format`"):
        lamina.layers.MaxNumBoundingBoxes(max_number=2)(_detection_batch(3))


# ---------------------------------------------------------------------------------------- RandomElasticTransform
ELASTIC_SHAPES = [(2, 8, 8, 3), (1, 16, 12, 1), (4, 6, 10, 2), (1, 2, 3, 3)]
ELASTIC_CASES = [
    {}, {"interpolation": "nearest"}, {"fill_mode": "constant", "fill_value": 40.0}, {"fill_mode": "mirror"},
    {"fill_mode": "nearest", "scale": (0.5, 0.9)}, {"fill_mode": "wrap", "interpolation": "nearest"},
    {"factor": (0.3, 0.8), "scale": 0.6}, {"value_range": (0, 1)},
]


def _elastic_pair(keras, kwargs, data_format="channels_last", seed=3):
    return (lamina.layers.RandomElasticTransform(seed=seed, data_format=data_format, **kwargs),
            keras.layers.RandomElasticTransform(seed=seed, data_format=data_format, **kwargs))


def _keras_transform(theirs, images, transformation):
    """Keras-torch's transform at lamina's transformation: its op draws the noise from torch's global RNG (it
    ignores the seed off the meta device), seeded here with the transformation's seed."""
    torch.manual_seed(transformation["seed"])
    return theirs.transform_images(torch.tensor(images), dict(transformation), training=True)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("shape,kwargs", list(itertools.product(ELASTIC_SHAPES, ELASTIC_CASES)))
def test_elastic_fixed_transformation_matches_keras(keras, shape, kwargs, data_format):
    scale = kwargs.get("value_range", (0, 255))
    images = _images(shape, scale)
    if data_format == "channels_first":
        images = images.transpose(0, 3, 1, 2).copy()
    ours, theirs = _elastic_pair(keras, kwargs, data_format)
    transformation = ours.get_random_transformation(torch.tensor(images))
    transformation["apply_transform"] = torch.tensor([True, False, True, True][:shape[0]])
    expected = _keras_transform(theirs, images, transformation)
    assert_close(ours.transform_images(torch.tensor(images), transformation), expected, what=f"{kwargs} {shape}")


def test_elastic_noise_matches_keras_for_any_size(keras):
    images = _images((2, 10, 7, 2))
    ours, theirs = _elastic_pair(keras, {})
    transformation = ours.get_random_transformation(torch.tensor(images))
    transformation["apply_transform"] = torch.tensor([True, True])
    assert_close(ours.transform_images(torch.tensor(images), transformation),
                 _keras_transform(theirs, images, transformation))


@pytest.mark.parametrize("seed,kwargs", [(3, {}), (11, {"factor": 0.7, "scale": (0.2, 0.5)}),
                                         (5, {"fill_mode": "constant", "interpolation": "nearest"})])
def test_elastic_seeded_calls_follow_keras_rule(keras, seed, kwargs):
    """A seeded call draws Keras's factor and scale numbers (its stream's draws k, k+1, k+2) and the noise from
    the next draw, as Keras's rule (its meta-device and JAX paths) does; Keras-torch on CPU takes that noise from
    the global RNG and leaves its stream one draw behind, which the reference reproduces."""
    images = _images((4, 8, 8, 3))
    ours, theirs = _elastic_pair(keras, kwargs, seed=seed)
    for call in range(3):
        expected_transformation = theirs.get_random_transformation(images, training=True)
        theirs.generator.next()  # the draw Keras's rule spends on the noise
        got_transformation = ours.get_random_transformation(torch.tensor(images))
        np.testing.assert_array_equal(got_transformation["apply_transform"].numpy(),
                                      expected_transformation["apply_transform"].cpu().numpy())
        assert_close(got_transformation["distortion_factor"], expected_transformation["distortion_factor"])
        assert got_transformation["seed"] == seed + 4 * call + 3
    ours, theirs = _elastic_pair(keras, kwargs, seed=seed)
    torch.manual_seed(seed + 3)
    expected = theirs(images.copy(), training=True)
    assert_close(ours(images, training=True), expected)


def test_elastic_uint8_single_images_and_inference(keras):
    image = (_images((8, 8, 3))).astype("uint8")
    ours, theirs = _elastic_pair(keras, {"factor": 1.0})
    torch.manual_seed(6)
    expected = theirs(image, training=True)
    actual = ours(image, training=True)
    assert actual.shape == expected.shape == image.shape and actual.dtype == expected.dtype == torch.float32
    assert_close(actual, expected)
    images = _images((2, 8, 8, 3))
    assert_close(ours(images), images)  # identity at inference
    for kwargs in ({"factor": 0.0}, {"scale": 0.0}):
        idle = lamina.layers.RandomElasticTransform(seed=1, **kwargs)
        assert idle.get_random_transformation(torch.tensor(images)) is None
        assert_close(idle(images, training=True), images)


def test_elastic_masks_take_the_images_field():
    """Class-id images with nearest sampling and their masks: the same field gives the same output (Keras draws a
    second field for the masks)."""
    classes = np.random.default_rng(0).integers(0, 4, (2, 16, 16, 1)).astype("float32")
    torch.manual_seed(0)  # the unseeded layer's draws
    for seed in (2, None):
        layer = lamina.layers.RandomElasticTransform(scale=(0.8, 1.0), interpolation="nearest", value_range=(0, 3),
                                                     seed=seed)
        out = layer({"images": classes, "segmentation_masks": classes.copy()}, training=True)
        assert not np.array_equal(out["images"].numpy(), classes)
        np.testing.assert_array_equal(out["segmentation_masks"].numpy(), out["images"].numpy())


def test_elastic_unseeded_draws_follow_torch_manual_seed():
    images = _images((2, 8, 8, 3))
    layer = lamina.layers.RandomElasticTransform()
    torch.manual_seed(4)
    first = layer(images, training=True)
    torch.manual_seed(4)
    assert_close(layer(images, training=True), first)


def test_elastic_refuses_boxes_and_keeps_configs(keras):
    layer = lamina.layers.RandomElasticTransform(bounding_box_format="xyxy", seed=1)
    data = {"images": _images((1, 8, 8, 3)),
            "bounding_boxes": {"boxes": np.array([[[1, 1, 4, 4]]], "float32"), "labels": np.array([[1]])}}
    with pytest.raises(NotImplementedError, match="RandomElasticTransform does not transform bounding boxes"):
        layer(data, training=True)
    ours, theirs = _elastic_pair(keras, {"factor": 0.4, "scale": (0.1, 0.3), "fill_mode": "wrap"})
    assert set(ours.get_config()) == set(theirs.get_config())
    assert ours.get_config()["factor"] == (0, 0.4) and ours.get_config()["scale"] == (0.1, 0.3)
    assert ours.compute_output_shape((None, 8, 8, 3)) == (None, 8, 8, 3)


@pytest.mark.parametrize("kwargs,match", [
    ({"factor": 1.5}, r"RandomElasticTransform: the `factor` argument must be a number or a pair of numbers in "
                      r"\[0, 1\]\. Received: factor=1\.5"),
    ({"scale": -0.1}, r"RandomElasticTransform: the `scale` argument .* Received: scale=-0\.1"),
    ({"scale": (2, 3)}, r"Received: scale=\(2, 3\)"),
    ({"interpolation": "bicubic"}, r"RandomElasticTransform: the `interpolation` argument must be one of "
                                   r"\('nearest', 'bilinear'\)\. Received: interpolation='bicubic'"),
    ({"fill_mode": "edge"}, r"RandomElasticTransform: the `fill_mode` argument must be one of .* "
                            r"Received: fill_mode='edge'"),
    ({"value_range": 255}, r"RandomElasticTransform: the `value_range` argument must be a pair of numbers"),
    ({"seed": "x"}, r"RandomElasticTransform: the `seed` argument must be an int\. Received: seed='x'"),
])
def test_elastic_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lamina.layers.RandomElasticTransform(**kwargs)
