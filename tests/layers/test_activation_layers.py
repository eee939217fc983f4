"""Activation layers: differential against Keras 3 (ThresholdedReLU against Keras 2's formula), errors."""

import itertools
import warnings

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close, assert_matches_keras
from lamina.testing import run_layer_test

SHAPES = [(4, 5), (2, 3, 4), (2, 3, 4, 5)]


def _data(shape, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 3).astype("float32")


RELU_KWARGS = [{"max_value": m, "negative_slope": s, "threshold": t}
               for m, s, t in itertools.product((None, 0.5, 6.0), (0.0, 0.2, 1.0), (0.0, 0.3, 1.5))]


@pytest.mark.parametrize("kwargs", RELU_KWARGS)
@pytest.mark.parametrize("shape", SHAPES[:2])
def test_relu_matches_keras(keras, kwargs, shape):
    assert_matches_keras(keras, "ReLU", kwargs, _data(shape))


@pytest.mark.parametrize("negative_slope", [0.0, 0.01, 0.3, 1.0, 2.5])
@pytest.mark.parametrize("shape", SHAPES)
def test_leaky_relu_matches_keras(keras, negative_slope, shape):
    assert_matches_keras(keras, "LeakyReLU", {"negative_slope": negative_slope}, _data(shape))


def test_leaky_relu_accepts_keras2_alpha():
    with pytest.warns(UserWarning, match="alpha"):
        layer = lamina.layers.LeakyReLU(alpha=0.1)
    assert layer.get_config()["negative_slope"] == 0.1 and "alpha" not in layer.get_config()
    assert_close(layer(torch.tensor([-10.0, 1.0])), np.array([-1.0, 1.0], "float32"))
    assert lamina.layers.LeakyReLU().negative_slope == 0.3


@pytest.mark.parametrize("alpha", [0.1, 1.0, 2.0])
@pytest.mark.parametrize("shape", SHAPES)
def test_elu_matches_keras(keras, alpha, shape):
    assert_matches_keras(keras, "ELU", {"alpha": alpha}, _data(shape))


@pytest.mark.parametrize("shape,shared_axes", [((4, 5), None), ((2, 3, 4), None), ((2, 3, 4), [1]), ((2, 3, 4), 2),
                                               ((2, 3, 4, 5), [1, 2]), ((2, 3, 4, 5), (1, 3)), ((2, 3, 4, 5), [3])])
def test_prelu_matches_keras(keras, shape, shared_axes):
    lamina_layer, keras_layer, _ = assert_matches_keras(keras, "PReLU", {"shared_axes": shared_axes}, _data(shape))
    assert lamina_layer.alpha.shape == tuple(keras_layer.alpha.shape)
    assert lamina_layer.get_config()["shared_axes"] == keras_layer.get_config()["shared_axes"]


def test_prelu_initializer_regularizer_constraint(keras):
    kwargs = {"alpha_initializer": "ones", "alpha_regularizer": "l2", "alpha_constraint": "non_neg"}
    layer, keras_layer, _ = assert_matches_keras(keras, "PReLU", kwargs, _data((2, 3)), randomize_weights=False)
    np.testing.assert_array_equal(layer.get_weights()[0], np.ones((3,), "float32"))
    assert len(layer.losses) == 1
    assert_close(layer.losses[0], keras_layer.losses[0])
    with torch.no_grad():
        layer.alpha.fill_(-1.0)
    layer.apply_constraints()
    assert float(layer.alpha.detach().min()) == 0.0


@pytest.mark.parametrize("axis", [-1, 1, 0, [1, 2], (-2, -1)])
@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3, 4, 5)])
def test_softmax_matches_keras(keras, axis, shape):
    assert_matches_keras(keras, "Softmax", {"axis": axis}, _data(shape), check_config=True)


MASK_SHAPES = [(2, 3, 4), (3, 4), (4,), (2, 1, 4), (2, 3, 1)]


@pytest.mark.parametrize("mask_shape", MASK_SHAPES)
@pytest.mark.parametrize("numeric", [False, True])
def test_softmax_mask_matches_keras(keras, mask_shape, numeric):
    x = _data((2, 3, 4))
    mask = np.random.default_rng(1).random(mask_shape) < 0.5
    mask = mask.astype("float32") if numeric else mask
    mask.reshape(-1)[0] = 0  # at least one masked cell; an all-masked row tests the zeroing
    assert_matches_keras(keras, "Softmax", {}, x, call_kwargs={"mask": mask})


def test_softmax_mask_from_previous_layer():
    x = torch.zeros(2, 3)
    x._keras_mask = torch.tensor([[True, True, False], [False, False, False]])
    output = lamina.layers.Softmax()(x)
    assert_close(output, np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 0.0]], "float32"))
    np.testing.assert_array_equal(output._keras_mask.numpy(), x._keras_mask.numpy())


@pytest.mark.parametrize("theta", [0.0, 0.5, 1.0, 2.5])
def test_thresholded_relu_follows_keras2(theta):
    x = _data((3, 4, 5))
    expected = x * (x > theta).astype("float32")  # Keras 2: inputs * cast(inputs > theta)
    layer = lamina.layers.ThresholdedReLU(theta=theta)
    assert_close(layer(x), expected)
    assert layer.get_config()["theta"] == float(theta)
    assert lamina.layers.ThresholdedReLU().theta == 1.0


@pytest.mark.parametrize("name,kwargs,shape", [
    ("ReLU", {"max_value": 6.0}, (2, 3)), ("LeakyReLU", {}, (2, 3, 4)), ("ELU", {"alpha": 0.5}, (2, 3)),
    ("PReLU", {"shared_axes": [1, 2]}, (2, 3, 4, 5)), ("Softmax", {"axis": [1, 2]}, (2, 3, 4)),
    ("ThresholdedReLU", {"theta": 0.5}, (2, 3)),
])
def test_run_layer_test(name, kwargs, shape):
    layer = run_layer_test(getattr(lamina.layers, name), kwargs, input_shape=shape, expected_output_shape=shape,
                           supports_masking=True)
    assert layer.shape == shape


def test_masks_pass_through():
    x = torch.randn(2, 3, 4)
    x._keras_mask = torch.tensor([[True, False, True], [True, True, False]])
    for layer in (lamina.layers.ReLU(), lamina.layers.LeakyReLU(), lamina.layers.ELU(),
                  lamina.layers.ThresholdedReLU(), lamina.layers.PReLU()):
        assert layer(x)._keras_mask is x._keras_mask


@pytest.mark.parametrize("make,match", [
    (lambda: lamina.layers.ReLU(max_value=-1.0), "max_value"),
    (lambda: lamina.layers.ReLU(negative_slope=None), "negative_slope"),
    (lambda: lamina.layers.ReLU(negative_slope=-0.1), "negative_slope"),
    (lambda: lamina.layers.ReLU(threshold=-1.0), "threshold"),
    (lambda: lamina.layers.LeakyReLU(negative_slope=-0.3), "negative_slope"),
    (lambda: lamina.layers.ThresholdedReLU(theta=None), "theta"),
    (lambda: lamina.layers.ThresholdedReLU(theta=-1.0), "theta"),
    (lambda: lamina.layers.PReLU(shared_axes=[0]), "batch axis"),
])
def test_bad_arguments(make, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=match):
            make()


def test_bad_inputs():
    layer = lamina.layers.PReLU(shared_axes=[1])
    layer(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="expected axis 2"):
        layer(lamina.Input(shape=(3, 5)))
    with pytest.raises(ValueError, match="out of range"):
        lamina.layers.PReLU(shared_axes=[3])(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="broadcastable"):
        lamina.layers.Softmax()(torch.randn(2, 3, 4), mask=torch.ones(2, 3, 5, dtype=torch.bool))
