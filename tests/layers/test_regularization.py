"""Regularization layers: identity at inference vs Keras 3, training statistics, configs, errors."""

import itertools

import numpy as np
import pytest
import torch
from keras_reference import assert_close, assert_matches_keras

import lamina
from lamina import layers
from lamina.testing import run_layer_test


def _floats(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


INFERENCE_CASES = [("Dropout", {"rate": r, "noise_shape": n, "seed": s}, (4, 5, 6))
                   for r, n, s in itertools.product([0.0, 0.3, 1.0], [None, (None, 1, 6)], [None, 3])] + \
    [(f"SpatialDropout{k}D", {"rate": 0.4, **({"data_format": f} if k > 1 else {})}, (2,) + (3,) * k + (4,))
     for k, f in itertools.product([1, 2, 3], ["channels_last", "channels_first"])] + \
    [("GaussianNoise", {"stddev": s, "seed": seed}, (3, 4)) for s, seed in [(0.0, None), (0.5, 1), (1.0, None)]] + \
    [("GaussianDropout", {"rate": r, "seed": s}, (3, 4, 2)) for r, s in [(0.0, None), (0.5, 2), (0.9, None)]] + \
    [("AlphaDropout", {"rate": r, "noise_shape": n, "seed": s}, (5, 6))
     for r, n, s in [(0.0, None, None), (0.2, None, 1), (0.5, (None, 1), None)]] + \
    [("ActivityRegularization", {"l1": l1, "l2": l2}, (3, 4)) for l1, l2 in [(0.0, 0.0), (0.1, 0.0), (0.01, 0.3)]]


@pytest.mark.parametrize("class_name,kwargs,shape", INFERENCE_CASES)
@pytest.mark.parametrize("training", [None, False])
def test_inference_is_identity_like_keras(keras, class_name, kwargs, shape, training):
    call_kwargs = {} if training is None else {"training": training}
    _, _, output = assert_matches_keras(keras, class_name, kwargs, _floats(shape), call_kwargs=call_kwargs)
    assert_close(output, _floats(shape))


@pytest.mark.parametrize("class_name,kwargs,shape", INFERENCE_CASES)
def test_configs_match_keras(keras, class_name, kwargs, shape):
    config = getattr(layers, class_name)(**kwargs).get_config()
    keras_config = getattr(keras.layers, class_name)(**kwargs).get_config()
    assert set(config) == set(keras_config)
    for key in set(kwargs) & set(config):
        assert config[key] == keras_config[key], key


def test_activity_regularization_losses_match_keras(keras):
    for l1, l2, shape in [(0.1, 0.0, (4, 3)), (0.0, 0.2, (2, 5, 3)), (0.05, 0.3, (8, 2))]:
        x = _floats(shape)
        layer, keras_layer = layers.ActivityRegularization(l1, l2), keras.layers.ActivityRegularization(l1, l2)
        assert_close(layer(x), x)
        keras_layer(x)
        assert len(layer.losses) == len(keras_layer.losses) == 1
        assert_close(layer.losses[0], keras_layer.losses[0])  # Keras divides by the batch size
        assert_close(layer.losses[0], (l1 * np.abs(x).sum() + l2 * np.square(x).sum()) / shape[0])


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("seed", [None, 7])
def test_dropout_training_statistics(rate, seed):
    x = torch.ones(400, 500)
    y = layers.Dropout(rate, seed=seed)(x, training=True)
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - rate) < 0.01
    assert_close(y[y != 0], torch.full_like(y[y != 0], 1 / (1 - rate)))


def test_dropout_rate_one_and_model_train_mode():
    assert float(layers.Dropout(1.0)(torch.ones(3, 4), training=True).abs().sum()) == 0
    model = lamina.Sequential([layers.Dropout(0.5, input_shape=(1000,))])
    x = torch.ones(4, 1000)
    assert torch.equal(model(x), x)
    model.train()
    assert 0.4 < (model(x) == 0).float().mean().item() < 0.6
    model.eval()
    assert torch.equal(model(x), x)


@pytest.mark.parametrize("noise_shape,shape,shared_axes", [((None, 1, None), (64, 10, 30), (1,)),
                                                           ((None, 1, 1), (64, 10, 30), (1, 2)),
                                                           ((1, None, None), (64, 10, 30), (0,))])
def test_dropout_noise_shape_broadcasts(noise_shape, shape, shared_axes):
    y = layers.Dropout(0.5, noise_shape=noise_shape, seed=1)(torch.ones(shape), training=True)
    kept = y != 0
    for axis in shared_axes:
        assert torch.equal(kept, kept.narrow(axis, 0, 1).expand_as(kept))
    assert 0.4 < (~kept).float().mean().item() < 0.6


def test_seeded_layers_repeat_their_sequence():
    x = torch.ones(50, 60)
    for make in (lambda: layers.Dropout(0.5, seed=3), lambda: layers.GaussianNoise(0.5, seed=3),
                 lambda: layers.GaussianDropout(0.5, seed=3), lambda: layers.AlphaDropout(0.5, seed=3)):
        first, second = make(), make()
        a1, a2 = first(x, training=True), first(x, training=True)
        assert torch.equal(a1, second(x, training=True)) and not torch.equal(a1, a2)


@pytest.mark.parametrize("cls,shape,data_format,channel_axis", [
    (layers.SpatialDropout1D, (32, 20, 16), None, -1),
    (layers.SpatialDropout2D, (32, 6, 7, 16), "channels_last", -1),
    (layers.SpatialDropout2D, (32, 16, 6, 7), "channels_first", 1),
    (layers.SpatialDropout3D, (16, 3, 4, 5, 16), "channels_last", -1),
    (layers.SpatialDropout3D, (16, 16, 3, 4, 5), "channels_first", 1)])
def test_spatial_dropout_drops_whole_channels(cls, shape, data_format, channel_axis):
    kwargs = {} if data_format is None else {"data_format": data_format}
    y = cls(0.5, **kwargs)(torch.ones(shape), training=True)
    spatial_axes = [a for a in range(1, len(shape)) if a != channel_axis % len(shape)]
    per_channel = (y != 0).float().amin(dim=spatial_axes) == (y != 0).float().amax(dim=spatial_axes)
    assert bool(per_channel.all())
    assert 0.4 < (y == 0).float().mean().item() < 0.6
    assert set(torch.unique(y).tolist()) <= {0.0, 2.0}


@pytest.mark.parametrize("stddev", [0.1, 0.5, 1.0])
def test_gaussian_noise_statistics(stddev):
    x = torch.full((500, 400), 3.0)
    noise = layers.GaussianNoise(stddev)(x, training=True) - x
    assert abs(noise.mean().item()) < 0.01 and abs(noise.std().item() - stddev) < 0.01 * max(stddev, 0.1)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_gaussian_dropout_statistics(rate):
    factor = layers.GaussianDropout(rate)(torch.ones(500, 400), training=True)
    assert abs(factor.mean().item() - 1) < 0.01
    assert abs(factor.std().item() - (rate / (1 - rate)) ** 0.5) < 0.01


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5])
def test_alpha_dropout_keeps_mean_and_variance(rate):
    x = torch.randn(500, 400, generator=torch.Generator().manual_seed(0))
    y = layers.AlphaDropout(rate, seed=0)(x, training=True)
    assert abs(y.mean().item()) < 0.02 and abs(y.var().item() - 1) < 0.03
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    dropped_value = a * alpha_p - a * alpha_p * rate  # every dropped cell takes this value
    assert abs(((y - dropped_value).abs() < 1e-6).float().mean().item() - rate) < 0.01


@pytest.mark.parametrize("factory,match", [
    (lambda: layers.Dropout(1.5), "rate"), (lambda: layers.Dropout(-0.1), "rate"), (lambda: layers.Dropout("a"), "rate"),
    (lambda: layers.Dropout(0.5, noise_shape=(None, 0)), "noise_shape"),
    (lambda: layers.Dropout(0.5, noise_shape="abc"), "noise_shape"), (lambda: layers.Dropout(0.5, seed=1.5), "seed"),
    (lambda: layers.SpatialDropout2D(2.0), "rate"), (lambda: layers.SpatialDropout2D(0.5, data_format="x"),
                                                     "data_format"),
    (lambda: layers.GaussianNoise(-1.0), "stddev"), (lambda: layers.GaussianNoise(2.0), "stddev"),
    (lambda: layers.GaussianDropout(1.0), r"\[0, 1\)"), (lambda: layers.AlphaDropout(1.2), "rate"),
    (lambda: layers.ActivityRegularization(l1=-1.0), "l1")])
def test_bad_arguments_raise(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_spatial_dropout_rank_checks():
    for cls, bad_rank in ((layers.SpatialDropout1D, 4), (layers.SpatialDropout2D, 3), (layers.SpatialDropout3D, 4)):
        with pytest.raises(ValueError, match="ndim"):
            cls(0.5)(torch.ones((2,) * bad_rank))


@pytest.mark.parametrize("cls,kwargs,shape", [
    (layers.Dropout, {"rate": 0.5, "noise_shape": (None, 1, None), "seed": 1}, (2, 3, 4)),
    (layers.SpatialDropout1D, {"rate": 0.5}, (2, 3, 4)),
    (layers.SpatialDropout2D, {"rate": 0.5, "data_format": "channels_first"}, (2, 3, 4, 5)),
    (layers.SpatialDropout3D, {"rate": 0.5}, (2, 3, 4, 5, 2)), (layers.GaussianNoise, {"stddev": 0.3}, (2, 3)),
    (layers.GaussianDropout, {"rate": 0.3, "seed": 2}, (2, 3)), (layers.AlphaDropout, {"rate": 0.3}, (2, 3)),
    (layers.ActivityRegularization, {"l1": 0.1, "l2": 0.2}, (2, 3))])
def test_regularization_layer_test(cls, kwargs, shape):
    run_layer_test(cls, kwargs, input_shape=shape, expected_output_shape=shape, supports_masking=True)
