"""Every image layer against Keras 3 (torch backend): the transform at fixed parameters (Keras's
``transform_images`` given lamina's transformation dict), the whole seeded call (lamina draws Keras's random
numbers, so seeded layers give Keras's outputs call after call), both data formats, single images, uint8
inputs, and the config keys."""

import copy

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close

RNG = np.random.default_rng(11)
PIXELS = RNG.uniform(0, 255, (4, 9, 7, 3)).astype("float32")

# (class name, kwargs, value scale); every layer here follows Keras's rule with these arguments.
CASES = [
    ("RandomFlip", {"seed": 3}, 255), ("RandomFlip", {"mode": "vertical", "seed": 4}, 255),
    ("RandomRotation", {"factor": 0.2, "seed": 3}, 255),
    ("RandomRotation", {"factor": (-0.5, 0.1), "fill_mode": "constant", "fill_value": 9.0, "interpolation": "nearest",
                        "seed": 5}, 255),
    ("RandomZoom", {"height_factor": 0.3, "width_factor": (-0.2, 0.4), "fill_mode": "wrap", "seed": 3}, 255),
    ("RandomZoom", {"height_factor": (-0.4, -0.1), "fill_mode": "nearest", "seed": 6}, 255),
    ("RandomTranslation", {"height_factor": 0.3, "width_factor": (-0.2, 0.4), "fill_mode": "nearest",
                           "interpolation": "nearest", "seed": 3}, 255),
    ("RandomTranslation", {"height_factor": (0.1, 0.2), "width_factor": 0.5, "fill_mode": "reflect", "seed": 9}, 255),
    ("RandomShear", {"x_factor": 0.3, "y_factor": (0.1, 0.4), "fill_mode": "constant", "seed": 3}, 255),
    ("RandomPerspective", {"factor": 0.7, "scale": 0.5, "seed": 3}, 255),
    ("RandomCrop", {"height": 5, "width": 4, "seed": 2}, 255),
    ("RandomBrightness", {"factor": (-0.3, 0.5), "seed": 1}, 255),
    ("RandomContrast", {"factor": (0.2, 0.5), "seed": 1}, 255),
    ("RandomColorDegeneration", {"factor": 0.5, "seed": 1}, 255),
    ("RandomGrayscale", {"factor": 0.5, "seed": 1}, 255),
    ("RandomInvert", {"factor": 0.8, "seed": 1}, 255),
    ("RandomHue", {"factor": 0.4, "seed": 1}, 255),
    ("RandomHue", {"factor": (0.1, 0.9), "value_range": (0, 1), "seed": 2}, 1),
    ("RandomSaturation", {"factor": (0.2, 0.7), "value_range": (0, 1), "seed": 1}, 1),
    ("RandomPosterization", {"factor": 6, "seed": 1}, 255),
    ("RandomPosterization", {"factor": (3, 3), "value_range": (0, 1)}, 1),
    ("Solarization", {"addition_factor": 0.2, "threshold_factor": 0.6, "seed": 1}, 255),
    ("RandomSharpness", {"factor": 0.7, "seed": 1}, 255),
    ("RandomGaussianBlur", {"factor": 0.9, "sigma": 0.8, "kernel_size": 5, "seed": 1}, 255),
    ("RandomErasing", {"seed": 1}, 255), ("RandomErasing", {"seed": 2, "fill_value": 9.0, "factor": 0.8}, 255),
    ("CutMix", {"seed": 1}, 255), ("MixUp", {"seed": 1}, 255), ("MixUp", {"alpha": 1.5, "seed": 7}, 255),
    ("RandomColorJitter", {"brightness_factor": 0.2, "contrast_factor": (0.3, 0.5), "saturation_factor": (0.2, 0.45),
                           "hue_factor": 0.2, "seed": 1}, 255),
    ("AugMix", {"seed": 1, "num_chains": 2, "chain_depth": 2}, 255),
    ("AutoContrast", {}, 255), ("Equalization", {}, 255), ("Equalization", {"value_range": (0, 1), "bins": 64}, 1),
]
# Layers whose transformation Keras cannot take as lamina gives it, or whose seeded draws differ by design.
NOT_SEEDED_LIKE_KERAS = {"AugMix"}  # Keras picks AugMix's operations with Python's unseeded random
# Keras ignores data_format there: RandomColorJitter builds its parts channels_last, AutoContrast takes the
# extremes over axes 1 and 2 (test_semantics.py checks lamina's channels_first against channels_last).
CHANNELS_LAST_ONLY_IN_KERAS = {"RandomColorJitter", "AutoContrast"}


def _inputs(scale, data_format="channels_last"):
    images = PIXELS / 255 * scale
    return images if data_format == "channels_last" else images.transpose(0, 3, 1, 2).copy()


def _keras_transformation(name, transformation):
    if name == "RandomCrop":  # Keras's RandomCrop transformation is the (top, left) offset
        return transformation["top"], transformation["left"]
    return copy.deepcopy(transformation)  # Keras-torch's affine_transform swaps matrix entries in place


def _case_id(case):
    return f"{case[0]}-{'-'.join(f'{k}={v}' for k, v in case[1].items())}"


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("name,kwargs,scale", CASES, ids=[_case_id(c) for c in CASES])
def test_fixed_transformation_matches_keras(keras, name, kwargs, scale, data_format):
    if data_format == "channels_first" and name in CHANNELS_LAST_ONLY_IN_KERAS:
        pytest.skip("Keras ignores data_format in this layer")
    images = torch.tensor(_inputs(scale, data_format))
    ours = getattr(lamina.layers, name)(**kwargs, data_format=data_format)
    theirs = getattr(keras.layers, name)(**kwargs, data_format=data_format)
    transformation = ours.get_random_transformation(images, training=True)
    expected = theirs.transform_images(images.clone(), _keras_transformation(name, transformation), training=True)
    assert_close(ours.transform_images(images, transformation, training=True), expected, what=f"{name}{kwargs}")
    assert set(ours.get_config()) == set(theirs.get_config())


SEEDED = [c for c in CASES if c[0] not in NOT_SEEDED_LIKE_KERAS and "seed" in c[1]]


@pytest.mark.parametrize("name,kwargs,scale", SEEDED, ids=[_case_id(c) for c in SEEDED])
def test_seeded_calls_draw_what_keras_draws(keras, name, kwargs, scale):
    images = _inputs(scale)
    ours, theirs = getattr(lamina.layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    for call in range(2):  # the second call draws the stream's next numbers
        expected = theirs(images.copy(), training=True)
        assert_close(ours(images, training=True), expected, what=f"{name}{kwargs} call {call}")


@pytest.mark.parametrize("name,kwargs", [("RandomRotation", {"factor": 0.3, "seed": 2}),
                                         ("RandomHue", {"factor": 0.5, "seed": 2}),
                                         ("RandomErasing", {"seed": 2}), ("Resizing", {"height": 4, "width": 5}),
                                         ("CenterCrop", {"height": 12, "width": 3})])
def test_single_images_and_uint8(keras, name, kwargs):
    image = PIXELS[0].astype("uint8")
    ours, theirs = getattr(lamina.layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    expected = theirs(image, training=True)
    actual = ours(image, training=True)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert_close(actual.float(), expected.float())


def test_rand_augment_applies_the_chosen_operations_in_order(keras):
    """Keras-torch's RandAugment runs every operation and keeps the chosen ones, but two of them change their
    inputs in place (RandomBrightness adds to the images, affine_transform swaps the matrix), which corrupts
    the result; the rule is the chosen operations applied in order, which Keras's own sublayers give."""
    images = torch.tensor(_inputs(255))
    for seed in range(1, 6):
        ours, theirs = lamina.layers.RandAugment(seed=seed), keras.layers.RandAugment(seed=seed)
        transformation = ours.get_random_transformation(images)
        expected = images
        for index in transformation["layer_idxes"].tolist():
            name = ours._operation_names[index]
            expected = getattr(theirs, name).transform_images(expected.clone(),
                                                              copy.deepcopy(transformation["transforms"][name]))
        assert_close(ours.transform_images(images, transformation), expected, what=f"seed {seed}")
