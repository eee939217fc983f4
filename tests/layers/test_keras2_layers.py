"""Keras 2 layers that Keras 3 dropped, against tf_keras 2.21: ThresholdedReLU and RandomFourierFeatures.

The reference numbers, weights, gradients and configs come from tests/data/keras2/make_layer_fixtures.py
(run once with TensorFlow; CI reads the committed files).
"""

import json
import pathlib

import numpy as np
import pytest
import torch
from keras_reference import assert_close

import lamina
from lamina.layers import RandomFourierFeatures, ThresholdedReLU

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "keras2"
ARRAYS = np.load(DATA / "keras2_layers.npz")
CASES = json.loads((DATA / "keras2_layers.json").read_text())


def _without_dtype(config):
    """Configs compared without ``dtype``: Keras 2 writes a string, lamina Keras 3's DTypePolicy."""
    return {key: value for key, value in config.items() if key != "dtype"}


@pytest.mark.parametrize("index", range(4))
def test_thresholded_relu_matches_tf_keras(index):
    case = CASES[f"thresholded_relu_{index}"]
    layer = ThresholdedReLU(theta=case["theta"], name=case["config"]["name"])
    x = ARRAYS[f"thresholded_relu_{index}_x"]
    expected = ARRAYS[f"thresholded_relu_{index}_y"]
    actual = layer(x).numpy()
    np.testing.assert_array_equal(actual, expected)
    np.testing.assert_array_equal(np.signbit(actual), np.signbit(expected))  # -0.0 where Keras 2 has it
    assert _without_dtype(layer.get_config()) == _without_dtype(case["config"])
    restored = ThresholdedReLU.from_config(case["config"])  # a Keras 2 config, dtype as a string
    assert restored.theta == case["config"]["theta"] and restored.dtype == "float32"


@pytest.mark.parametrize("index", range(4))
def test_random_fourier_features_match_tf_keras(index):
    key = f"random_fourier_features_{index}"
    case = CASES[key]
    x, r = ARRAYS[f"{key}_x"], ARRAYS[f"{key}_r"]
    layer = RandomFourierFeatures(**case["init"], name=case["config"]["name"])
    layer(x)
    assert [w.path.split("/")[-1] for w in layer.weights] == [n.split("/")[-1][:-2] for n in case["weights"]]
    assert [w.path.split("/")[-1] for w in layer.trainable_weights] == \
        [n.split("/")[-1][:-2] for n in case["trainable_weights"]]
    weights = [ARRAYS[f"{key}_w{i}"] for i in range(3)]
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in weights]
    layer.set_weights(weights)
    inputs = torch.tensor(x, requires_grad=True)
    y = layer(inputs)
    assert_close(y, ARRAYS[f"{key}_y"], 1e-5, "outputs")
    gradients = torch.autograd.grad((y * torch.as_tensor(r)).sum(), [inputs, *layer.trainable_weights])
    assert_close(list(gradients), [ARRAYS[f"{key}_g{i}"] for i in range(len(gradients))], 1e-5, "gradients")
    assert _without_dtype(layer.get_config()) == _without_dtype(case["config"])  # scale: the value used
    rebuilt = RandomFourierFeatures.from_config(case["config"])
    rebuilt(x)
    rebuilt.set_weights(weights)
    assert_close(rebuilt(x), ARRAYS[f"{key}_y"], 1e-5, "from a Keras 2 config")


def test_random_fourier_features_initialization_and_training(rng):
    x = rng.standard_normal((64, 8)).astype("float32")
    gaussian = RandomFourierFeatures(4000)
    gaussian(x)
    kernel = gaussian.unscaled_kernel.detach()
    assert abs(float(kernel.std()) - 1.0) < 0.02 and abs(float(kernel.mean())) < 0.02
    assert float(gaussian.bias.min()) >= 0 and float(gaussian.bias.max()) < 2 * np.pi
    assert float(gaussian.kernel_scale) == pytest.approx(2.0)  # sqrt(8 / 2)
    # Gaussian kernel approximation: 2/D * <phi(x), phi(y)> ~ exp(-|x - y|^2 / (2 scale^2))
    features = gaussian(x[:2]).detach().numpy()
    approx = 2.0 / 4000 * features[0] @ features[1]
    exact = np.exp(-np.sum((x[0] - x[1]) ** 2) / (2 * 2.0 ** 2))
    assert abs(approx - exact) < 0.08
    laplacian = RandomFourierFeatures(4000, kernel_initializer="Laplacian")
    laplacian(x)
    assert float(laplacian.kernel_scale) == 1.0
    assert abs(float(laplacian.unscaled_kernel.detach().abs().median()) - 1.0) < 0.05  # Cauchy: median |x| = 1
    trained = RandomFourierFeatures(3, scale=0.5, trainable=True)
    model = lamina.Sequential([lamina.Input((8,)), trained, lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    frozen = [w.copy() for w in trained.get_weights()[1:]]
    model.fit(x, x[:, :1], epochs=2, verbose=0)
    assert float(trained.kernel_scale.detach()) != 0.5
    assert all(np.array_equal(a, b) for a, b in zip(trained.get_weights()[1:], frozen))
    assert lamina.layers.experimental.RandomFourierFeatures is RandomFourierFeatures


@pytest.mark.parametrize("make,match", [
    (lambda: RandomFourierFeatures(0), r"RandomFourierFeatures.*output_dim.*positive"),
    (lambda: RandomFourierFeatures(3, kernel_initializer="rbf"), r"RandomFourierFeatures.*kernel_initializer.*rbf"),
    (lambda: RandomFourierFeatures(3, scale=0.0), r"RandomFourierFeatures.*scale.*positive"),
    (lambda: RandomFourierFeatures(3)(np.zeros((2, 3, 4), "float32")), r"expected ndim=2"),
    (lambda: ThresholdedReLU(theta=-1.0), r"ThresholdedReLU.*theta.*>= 0"),
])
def test_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
