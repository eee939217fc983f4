"""RMSNormalization: Keras 3 (torch backend) for trailing axes, a NumPy reference for every axis set
(Keras on torch and on TensorFlow fail for other axes: docs/keras_torch_departures.md)."""

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close, assert_matches_keras

CASES = [(-1, (2, 3, 5)), ([1, 2], (2, 3, 5)), ([-2, -1], (2, 3, 4, 5)), (2, (2, 3, 4)),
         (1, (2, 3, 5)), ([1, 3], (2, 3, 4, 5)), (2, (2, 3, 4, 5)), ([1, 2], (2, 3, 4, 5))]


def _reference(x, axis, scale, epsilon=1e-6):
    axes = tuple(sorted(a % x.ndim for a in (axis if isinstance(axis, list) else [axis])))
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    return x / np.sqrt((x ** 2).mean(axis=axes, keepdims=True) + epsilon) * scale.reshape(shape)


@pytest.mark.parametrize("axis,shape", CASES)
def test_rms_normalization(keras, axis, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32") * 3
    layer = lamina.layers.RMSNormalization(axis=axis, epsilon=1e-5)
    layer(x)
    scale = np.random.default_rng(1).standard_normal(layer.get_weights()[0].shape).astype("float32")
    layer.set_weights([scale])
    assert_close(layer(x), _reference(x, axis, scale, 1e-5))
    trailing = sorted(a % len(shape) for a in (axis if isinstance(axis, list) else [axis])) == \
        list(range(len(shape) - (len(axis) if isinstance(axis, list) else 1), len(shape)))
    if trailing:
        built, keras_layer, _ = assert_matches_keras(keras, "RMSNormalization", {"axis": axis, "epsilon": 1e-5}, x)
        assert built.get_config() == {**keras_layer.get_config(), "name": built.name}  # axis: a sorted list


def test_half_precision_and_gradcheck():
    """A float16 layer normalizes in float32 and returns float16, as Keras does."""
    x = torch.randn(2, 3, 4, 5).half()
    for axis in (-1, [1, 3]):
        layer = lamina.layers.RMSNormalization(axis=axis, dtype="float16")
        output = layer(x)
        assert output.dtype == torch.float16
        assert_close(output.float(), _reference(x.float().numpy(), axis, np.ones(layer.get_weights()[0].shape,
                                                                                 "float32")), tolerance=1e-3)
    for axis in (-1, [1, 3]):
        double = lamina.layers.RMSNormalization(axis=axis, dtype="float64")
        inputs = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
        double(inputs)
        torch.nn.init.normal_(double.scale)
        assert torch.autograd.gradcheck(double, (inputs,))


@pytest.mark.parametrize("axis,match", [(0, "batch axis"), (4, "out of bounds"), ("x", "axis")])
def test_bad_axis(axis, match):
    with pytest.raises((ValueError, TypeError), match=match):
        lamina.layers.RMSNormalization(axis=axis)(torch.ones(2, 3, 4))
