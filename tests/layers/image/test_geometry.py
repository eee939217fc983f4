"""The image kernels against Keras 3's image ops (torch backend): affine and perspective warps with every
fill mode, resizing (interpolations, antialias, aspect-ratio crop/pad, integer images), Lanczos against
Keras's scale_and_translate, Gaussian blur, colour conversions, and Keras's random draws."""

import itertools

import numpy as np
import pytest
import torch

from keras_reference import assert_close
from lamina.layers.image import colorspace, geometry, randomness
from lamina.ops import image as ops_image
from lamina.layers.image.randomness import SeedStream

IMAGES = np.random.default_rng(7).uniform(0, 255, (3, 9, 11, 2)).astype("float32")


def _nchw(images, data_format):
    return geometry.to_nchw(torch.as_tensor(images), data_format)


def _random_affine(rng, batch, height, width):
    values = [torch.tensor(rng.uniform(low, high, batch), dtype=torch.float32)
              for low, high in ((-180, 180), (-3, 3), (-2, 2), (0.6, 1.4), (-25, 25), (-25, 25))]
    angle, tx, ty, scale, shear_x, shear_y = values
    return geometry.compute_affine_matrix(0.5, 0.5, angle, tx, ty, scale, shear_x, shear_y, height, width)


@pytest.mark.parametrize("fill_mode,interpolation,data_format", list(itertools.product(
    geometry.FILL_MODES, geometry.INTERPOLATIONS, ("channels_last", "channels_first"))))
def test_affine_transform_matches_keras(keras, fill_mode, interpolation, data_format):
    rng = np.random.default_rng(hash((fill_mode, interpolation)) % 1000)
    images = IMAGES if data_format == "channels_last" else IMAGES.transpose(0, 3, 1, 2).copy()
    matrix = _random_affine(rng, 3, 9, 11)
    expected = keras.ops.image.affine_transform(images, matrix.clone(), interpolation=interpolation,
                                                fill_mode=fill_mode, fill_value=5.0, data_format=data_format)
    actual = geometry.from_nchw(geometry.affine_transform(_nchw(images, data_format), matrix, interpolation,
                                                          fill_mode, 5.0), data_format)
    assert_close(actual, expected, what=f"affine {fill_mode} {interpolation} {data_format}")


@pytest.mark.parametrize("interpolation", geometry.INTERPOLATIONS)
def test_perspective_transform_matches_keras(keras, interpolation):
    rng = np.random.default_rng(3)
    corners = np.array([[0, 0], [10, 0], [0, 8], [10, 8]], dtype="float32")
    start = np.repeat(corners[None], 3, axis=0)
    end = start + start * rng.uniform(-0.3, 0.3, (3, 4, 2)).astype("float32")
    expected = keras.ops.image.perspective_transform(IMAGES, start, end, interpolation=interpolation, fill_value=2.0)
    actual = geometry.from_nchw(geometry.perspective_transform(_nchw(IMAGES, "channels_last"), torch.tensor(start),
                                                               torch.tensor(end), interpolation, 2.0), "channels_last")
    assert_close(actual, expected, what=f"perspective {interpolation}")


RESIZE_CASES = [  # (size, interpolation, antialias, crop, pad)
    ((5, 4), "bilinear", False, False, False), ((5, 4), "bilinear", True, False, False),
    ((14, 20), "bilinear", True, False, False), ((4, 7), "bicubic", True, False, False),
    ((12, 6), "bicubic", False, False, False), ((6, 3), "nearest", False, False, False),
    ((4, 4), "bilinear", False, True, False), ((6, 3), "bicubic", True, True, False),
    ((4, 8), "bilinear", False, False, True), ((10, 4), "nearest", False, False, True),
]


@pytest.mark.parametrize("size,interpolation,antialias,crop,pad", RESIZE_CASES)
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_resizing_matches_keras(keras, size, interpolation, antialias, crop, pad, dtype):
    import lamina

    images = IMAGES.astype(dtype)
    kwargs = dict(height=size[0], width=size[1], interpolation=interpolation, antialias=antialias,
                  crop_to_aspect_ratio=crop, pad_to_aspect_ratio=pad, fill_value=7.0)
    expected = keras.layers.Resizing(**kwargs)(images)
    actual = lamina.layers.Resizing(**kwargs)(images)
    assert actual.dtype == expected.dtype
    assert_close(actual.float(), expected.float(), tolerance=1e-5 if dtype == "float32" else 0.0,
                 what=f"Resizing {kwargs} {dtype}")


@pytest.mark.parametrize("radius,antialias,size", [(3, False, (4, 5)), (3, True, (4, 5)), (5, True, (15, 20)),
                                                   (5, False, (6, 16))])
def test_lanczos_matches_keras_scale_and_translate(keras, radius, antialias, size):
    """Keras-torch refuses Lanczos resizing; Keras on JAX resizes with scale_and_translate(scale=out/in), which
    Keras-torch's own scale_and_translate computes."""
    height, width = IMAGES.shape[1:3]
    expected = keras.ops.image.scale_and_translate(IMAGES, (3, *size, 2), scale=np.array(
        [size[0] / height, size[1] / width], "float32"), translation=np.zeros(2, "float32"), spatial_dims=(1, 2),
        method=f"lanczos{radius}", antialias=antialias)
    actual = geometry.from_nchw(geometry.resize(_nchw(IMAGES, "channels_last"), size, f"lanczos{radius}", antialias),
                                "channels_last")
    assert_close(actual, expected, what=f"lanczos{radius} {antialias} {size}")


def test_gaussian_blur_matches_keras_and_follows_the_rule_for_uneven_kernels(keras):
    sigma = torch.tensor([0.7, 1.3])
    expected = keras.ops.image.gaussian_blur(IMAGES, kernel_size=(5, 5), sigma=sigma, data_format="channels_last")
    actual = geometry.from_nchw(geometry.gaussian_blur(_nchw(IMAGES, "channels_last"), (5, 5), sigma),
                                "channels_last")
    assert_close(actual, expected)
    # (3, 5): 3 taps along the width with sigma[0], 5 along the height with sigma[1], zero padding ("same"),
    # as Keras on JAX (Keras-torch reshapes the kernel wrongly for uneven sizes).
    image = IMAGES[0, :, :, 0].astype(np.float64)
    along_width = np.exp(-0.5 * (np.arange(3) - 1) ** 2 / 0.7 ** 2)
    along_height = np.exp(-0.5 * (np.arange(5) - 2) ** 2 / 1.3 ** 2)
    kernel = np.outer(along_height / along_height.sum(), along_width / along_width.sum())
    padded = np.pad(image, ((2, 2), (1, 1)))
    reference = np.array([[np.sum(padded[i:i + 5, j:j + 3] * kernel) for j in range(11)] for i in range(9)])
    blurred = geometry.gaussian_blur(_nchw(IMAGES, "channels_last"), (3, 5), sigma)
    assert_close(blurred[0, 0], reference)


def test_colour_conversions_match_keras(keras):
    images = np.random.default_rng(1).uniform(0, 1, (2, 5, 6, 3)).astype("float32")
    images[0, 0, 0] = [0.5, 0.5, 0.5]  # gray: no hue
    for data_format, axis in (("channels_last", -1), ("channels_first", -3)):
        x = images if axis == -1 else images.transpose(0, 3, 1, 2).copy()
        hsv = ops_image.hsv_from_rgb(torch.tensor(x), axis)
        assert_close(hsv, keras.ops.image.rgb_to_hsv(x, data_format=data_format))
        assert_close(ops_image.rgb_from_hsv(hsv, axis), keras.ops.image.hsv_to_rgb(hsv, data_format=data_format))
        assert_close(colorspace.rgb_to_grayscale(torch.tensor(x), axis),
                     keras.ops.image.rgb_to_grayscale(x, data_format=data_format))


def test_random_draws_follow_keras_seed_streams(keras):
    """Each draw of a seeded stream uses a fresh generator seeded seed + draw index, as Keras's SeedGenerator."""
    stream, generator = SeedStream(42), keras.random.SeedGenerator(42)
    pairs = [
        (randomness.uniform(stream, (5,), -2.0, 3.0), keras.random.uniform((5,), -2.0, 3.0, seed=generator)),
        (randomness.uniform(stream, (), 0.0, 7.0), keras.random.uniform((), 0.0, 7.0, seed=generator)),
        (randomness.randint(stream, (6,), 0, 9), keras.random.randint((6,), 0, 9, seed=generator)),
        (randomness.normal(stream, (2, 3)), keras.random.normal((2, 3), seed=generator)),
        (randomness.permutation(stream, 7), keras.random.shuffle(np.arange(7), seed=generator)),
        (randomness.beta(stream, (4,), 0.3, 0.3), keras.random.beta((4,), 0.3, 0.3, seed=generator)),
        (randomness.gamma(stream, (3,), 1.5), keras.random.gamma((3,), 1.5, seed=generator)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_array_equal(ours.numpy(), keras.ops.convert_to_numpy(theirs))
    torch.manual_seed(5)
    first = randomness.uniform(SeedStream(None), (4,))
    torch.manual_seed(5)
    assert torch.equal(first, randomness.uniform(SeedStream(None), (4,)))  # unseeded: torch's global RNG
