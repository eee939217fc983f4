"""What Keras cannot check for lamina: inference is identity, factor 0 is identity, seeds reproduce, the
random parameters have the documented distributions, the documented rules where Keras 3.15 departs from
them, errors, and the layers inside a trained model and a DataLoader worker."""

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close
from lamina import layers

PIXELS = torch.tensor(np.random.default_rng(5).uniform(0, 255, (4, 8, 10, 3)).astype("float32"))

RANDOM_LAYERS = [
    (layers.RandomFlip, {}), (layers.RandomRotation, {"factor": 0.3}), (layers.RandomZoom, {"height_factor": 0.3}),
    (layers.RandomTranslation, {"height_factor": 0.2, "width_factor": 0.2}),
    (layers.RandomShear, {"x_factor": 0.3}), (layers.RandomPerspective, {}), (layers.RandomBrightness, {"factor": 0.3}),
    (layers.RandomContrast, {"factor": 0.3}), (layers.RandomColorDegeneration, {"factor": 0.3}),
    (layers.RandomGrayscale, {"factor": 0.9}), (layers.RandomInvert, {}), (layers.RandomHue, {"factor": 0.3}),
    (layers.RandomSaturation, {"factor": 0.3}), (layers.RandomPosterization, {"factor": 4}),
    (layers.Solarization, {"threshold_factor": 0.5}), (layers.RandomSharpness, {"factor": 0.9}),
    (layers.RandomGaussianBlur, {}), (layers.RandomErasing, {}), (layers.CutMix, {}), (layers.MixUp, {}),
    (layers.RandomColorJitter, {"brightness_factor": 0.3, "hue_factor": 0.3}), (layers.RandAugment, {}),
    (layers.AugMix, {}),
]
IDENTITY_AT_ZERO = [
    (layers.RandomRotation, {"factor": 0.0}), (layers.RandomZoom, {"height_factor": 0.0, "width_factor": 0.0}),
    (layers.RandomTranslation, {"height_factor": 0.0, "width_factor": 0.0}), (layers.RandomShear, {}),
    (layers.RandomPerspective, {"scale": 0.0}), (layers.RandomBrightness, {"factor": 0.0}),
    (layers.RandomContrast, {"factor": 0.0}), (layers.RandomColorDegeneration, {"factor": 0.0}),
    (layers.RandomGrayscale, {"factor": 0.0}), (layers.RandomInvert, {"factor": 0.0}),
    (layers.RandomHue, {"factor": 0.0}), (layers.RandomSaturation, {"factor": (0.5, 0.5)}),
    (layers.RandomPosterization, {"factor": (8, 8)}), (layers.Solarization, {"threshold_factor": (1, 1)}),
    (layers.RandomSharpness, {"factor": (0.5, 0.5)}), (layers.RandomGaussianBlur, {"factor": 0.0}),
    (layers.RandomErasing, {"factor": 0.0}),
]


@pytest.mark.parametrize("cls,kwargs", RANDOM_LAYERS, ids=[c.__name__ for c, _ in RANDOM_LAYERS])
def test_inference_is_identity_and_training_is_not(cls, kwargs):
    layer = cls(**kwargs, seed=1)
    uint8 = PIXELS.to(torch.uint8)
    inferred = layer(uint8.numpy())
    assert inferred.dtype == torch.float32 and torch.equal(inferred, uint8.float())
    assert torch.equal(layer(PIXELS, training=False), PIXELS)
    assert not torch.equal(layer(PIXELS.round(), training=True), PIXELS.round())
    layer.train()  # PyTorch's switch works too
    assert not torch.equal(layer(PIXELS.round()), PIXELS.round())


@pytest.mark.parametrize("cls,kwargs", IDENTITY_AT_ZERO, ids=[c.__name__ for c, _ in IDENTITY_AT_ZERO])
def test_zero_strength_is_identity_in_training(cls, kwargs):
    images = PIXELS.round().clamp(0, 254)  # posterization keeps 8 bits of integers; solarization's threshold 255
    assert_close(cls(**kwargs)(images, training=True), images, tolerance=1e-4, what=cls.__name__)


@pytest.mark.parametrize("cls,kwargs", RANDOM_LAYERS[:8] + RANDOM_LAYERS[17:21],
                         ids=[c.__name__ for c, _ in RANDOM_LAYERS[:8] + RANDOM_LAYERS[17:21]])
def test_seeds_reproduce_and_unseeded_layers_follow_torch_manual_seed(cls, kwargs):
    first, second = cls(**kwargs, seed=7), cls(**kwargs, seed=7)
    a1, a2 = first(PIXELS, training=True), first(PIXELS, training=True)
    assert torch.equal(a1, second(PIXELS, training=True)) and torch.equal(a2, second(PIXELS, training=True))
    assert not torch.equal(a1, a2)  # each call draws new parameters
    unseeded = cls(**kwargs)
    torch.manual_seed(3)
    b1 = unseeded(PIXELS, training=True)
    torch.manual_seed(3)
    assert torch.equal(b1, unseeded(PIXELS, training=True))


def test_per_image_parameters_have_the_documented_distributions():
    images = torch.zeros(4000, 2, 2, 1)
    flips = layers.RandomFlip(seed=1).get_random_transformation(images)["flips"].float().mean()
    assert abs(float(flips) - 0.5) < 0.03
    angles = layers.RandomRotation((-0.1, 0.25), seed=1).get_random_transformation(images)["angle"]
    assert -36 <= float(angles.min()) < -35 and 89 < float(angles.max()) <= 90 and abs(float(angles.mean()) - 27) < 2
    zooms = layers.RandomZoom(0.2, seed=1).get_random_transformation(images)["height_zoom"]
    assert 0.8 <= float(zooms.min()) < 0.81 and 1.19 < float(zooms.max()) <= 1.2
    delta = layers.RandomBrightness(0.2, value_range=(0, 1), seed=1).get_random_transformation(images)["rgb_delta"]
    assert -0.2 <= float(delta.min()) < -0.19 and abs(float(delta.mean())) < 0.01
    gray = layers.RandomGrayscale(0.3, seed=1).get_random_transformation(images).float().mean()
    assert abs(float(gray) - 0.3) < 0.03
    weights = layers.MixUp(alpha=0.2, seed=1).get_random_transformation(images)["mix_weight"]
    assert abs(float(weights.mean()) - 0.5) < 0.03 and float(((weights < 0.1) | (weights > 0.9)).float().mean()) > 0.5
    order = layers.MixUp(seed=1).get_random_transformation(images)["permutation_order"]
    assert sorted(order.tolist()) == list(range(4000))
    crop = layers.RandomCrop(2, 3, seed=1)
    offsets = [crop.get_random_transformation(PIXELS, training=True) for _ in range(300)]
    assert {o["top"] for o in offsets} == set(range(7)) and {o["left"] for o in offsets} == set(range(8))


def test_documented_factor_rules_where_keras_code_departs():
    images = torch.zeros(4000, 2, 2, 3)
    contrast = layers.RandomContrast(0.3, seed=1).get_random_transformation(images)["contrast_factor"]
    assert 0.7 <= float(contrast.min()) < 0.71 and 1.29 < float(contrast.max()) <= 1.3  # Keras 3.15: [1, 1.3]
    saturation = layers.RandomSaturation(0.2, seed=1).get_random_transformation(images)["factor"]
    assert float(saturation.min()) >= 0 and 0.24 < float(saturation.max()) <= 0.25  # f / (1 - f), f in [0, 0.2]
    vivid = layers.RandomSaturation((1.0, 1.0), seed=1)(PIXELS, training=True)  # fully saturated, in range
    assert float(vivid.min()) >= 0 and float(vivid.max()) <= 255
    assert torch.allclose(vivid.amin(-1), torch.zeros(()), atol=1e-3)
    solar = layers.Solarization(addition_factor=(0.2, 0.4), seed=1).get_random_transformation(images)["additions"]
    assert 51 <= float(solar.min()) < 52 and 101 < float(solar.max()) <= 102  # both ends times 255


def test_random_crop_and_equalization_transform_at_inference_as_documented(keras):
    crop = layers.RandomCrop(4, 6)
    assert_close(crop(PIXELS), layers.Resizing(4, 6, crop_to_aspect_ratio=True)(PIXELS))
    assert_close(layers.Equalization()(PIXELS), keras.layers.Equalization()(PIXELS.numpy(), training=True))


def test_channels_first_equals_channels_last_where_keras_ignores_the_data_format():
    first = PIXELS.permute(0, 3, 1, 2)
    for cls, kwargs in ((layers.AutoContrast, {}), (layers.RandomColorJitter, {"contrast_factor": 0.4,
                                                                               "saturation_factor": (0.2, 0.4)})):
        last = cls(**kwargs, seed=2) if cls is not layers.AutoContrast else cls()
        channels_first = cls(**kwargs, seed=2, data_format="channels_first") if cls is not layers.AutoContrast \
            else cls(data_format="channels_first")
        assert_close(channels_first(first, training=True).permute(0, 2, 3, 1), last(PIXELS, training=True))


@pytest.mark.parametrize("make,message", [
    (lambda: layers.RandomRotation(2.0), "RandomRotation: the `factor`"),
    (lambda: layers.RandomRotation(0.1, fill_mode="mirror"), "fill_mode"),
    (lambda: layers.RandomZoom(-1.0), "height_factor"),
    (lambda: layers.RandomTranslation(0.1, 1.5), "width_factor"),
    (lambda: layers.RandomFlip(mode="diagonal"), "mode"),
    (lambda: layers.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "only one"),
    (lambda: layers.Resizing(0, 4), "height"), (lambda: layers.Resizing(4, 4, interpolation="area"), "interpolation"),
    (lambda: layers.RandomGaussianBlur(kernel_size=4), "kernel_size"),
    (lambda: layers.RandomBrightness(0.2, value_range=(0, 1, 2)), "value_range"),
    (lambda: layers.RandomPerspective(scale=2), "scale"), (lambda: layers.MixUp(alpha=0), "alpha"),
    (lambda: layers.Solarization(addition_factor=1.5), "addition_factor"),
    (lambda: layers.RandomCrop(4, 4, seed="x"), "seed"),
])
def test_bad_arguments_name_the_layer_and_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs_are_refused_clearly():
    with pytest.raises(ValueError, match="RandomFlip: expected images of rank 3 .* Received: shape=\\(4, 5\\)"):
        layers.RandomFlip()(torch.zeros(4, 5), training=True)
    with pytest.raises(ValueError, match="'images'"):
        layers.RandomFlip()({"pixels": PIXELS})


def test_augmentation_inside_a_model_trained_by_fit_and_saved(tmp_path):
    """An image classifier with scaling (a Lambda here: Rescaling is another branch's) and augmentation: fit
    trains through the random layers, predict runs them as identity, and the saved model predicts the same."""
    generator = np.random.default_rng(0)
    x = generator.uniform(0, 255, (48, 12, 12, 3)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) > x[..., 2].mean(axis=(1, 2))).astype("int64")
    inputs = lamina.Input((12, 12, 3))
    h = layers.Lambda(lambda t: t / 255.0)(inputs)
    h = layers.RandomFlip("horizontal", seed=1)(h)
    h = layers.RandomRotation(0.05, fill_mode="nearest", seed=2)(h)
    h = layers.RandomContrast((0.1, 0.2), value_range=(0, 1), seed=3)(h)
    h = layers.Conv2D(4, 3, activation="relu")(h)
    outputs = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling2D()(h))
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    predictions = model.predict(x, verbose=0)
    np.testing.assert_allclose(predictions, model.predict(x, verbose=0))  # no augmentation at inference
    path = tmp_path / "augmented.lamina"
    model.save(path)
    restored = lamina.models.load_model(path, safe_mode=False)
    np.testing.assert_allclose(restored.predict(x, verbose=0), predictions, atol=1e-6)


class _AugmentedImages(torch.utils.data.Dataset):
    def __init__(self):
        self.pipeline = layers.Pipeline([layers.RandomFlip(), layers.RandomRotation(0.2), layers.RandomCrop(6, 6)])
        self.image = torch.arange(10 * 10 * 3, dtype=torch.float32).reshape(10, 10, 3) % 255  # the same image each time

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return self.pipeline(self.image.numpy(), training=True)


def test_layers_run_on_cpu_tensors_in_dataloader_workers():
    loader = torch.utils.data.DataLoader(_AugmentedImages(), batch_size=4, num_workers=2,
                                         multiprocessing_context="fork")
    batches = list(loader)
    assert [tuple(b.shape) for b in batches] == [(4, 6, 6, 3), (4, 6, 6, 3)]
    assert not torch.equal(batches[0], batches[1])  # each worker draws from its own torch seed
    assert len({tuple(image.flatten().tolist()) for image in torch.cat(batches)}) > 1
