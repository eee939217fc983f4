"""Adaptive pooling against Keras 3 (torch backend) and against a NumPy reference of Keras's bin rule as
its JAX/TensorFlow/NumPy backends compute it (windows of ceil(n/m) or ceil(n/m) + 1 cells, picked by
where each bin starts), over sizes that divide, don't divide, shrink, keep and grow."""

import itertools

import numpy as np
import pytest
import torch
from keras_reference import assert_close, assert_matches_keras

import lamina
from lamina.layers import AdaptiveAveragePooling2D, AdaptiveMaxPooling1D

SIZES = [(7, 3), (8, 4), (5, 5), (3, 5), (6, 1), (1, 2)]  # (input length, output length)


def keras_rule_pool(x, output_size, mode, data_format):
    """Keras's backends' adaptive pooling in NumPy, one spatial axis at a time (``x`` channels_last)."""
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    for axis, m in enumerate(output_size, start=1):
        n = x.shape[axis]
        small = -(-n // m)
        starts = (np.arange(m) * n) // m
        ends = -((-np.arange(1, m + 1) * n) // m)
        sizes = np.where(ends - starts == small + 1, small + 1, small)
        reduce = np.max if mode == "max" else np.mean
        x = np.stack([reduce(np.take(x, range(s, s + w), axis=axis), axis=axis) for s, w in zip(starts, sizes)],
                     axis=axis)
    return np.moveaxis(x, -1, 1) if data_format == "channels_first" else x


@pytest.mark.parametrize("mode,rank,data_format", list(itertools.product(
    ["Average", "Max"], [1, 2, 3], ["channels_last", "channels_first"])))
def test_adaptive_pooling_matches_keras_and_the_bin_rule(keras, rng, mode, rank, data_format):
    class_name = f"Adaptive{mode}Pooling{rank}D"
    for first in range(0, len(SIZES), rank):
        pairs = [SIZES[(first + axis) % len(SIZES)] for axis in range(rank)]
        spatial, output_size = tuple(n for n, _ in pairs), tuple(m for _, m in pairs)
        shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
        x = rng.standard_normal(shape).astype("float32")
        kwargs = {"output_size": output_size if rank > 1 else output_size[0], "data_format": data_format}
        layer, _, actual = assert_matches_keras(keras, class_name, kwargs, x)
        assert_close(actual, keras_rule_pool(x, output_size, mode.lower(), data_format), 1e-6,
                     f"{class_name}{kwargs} vs the bin rule")
        assert layer.compute_output_shape(shape) == tuple(actual.shape)


def test_symbolic_shapes_configs_and_gradients(rng):
    inputs = lamina.Input((None, None, 4))
    assert AdaptiveAveragePooling2D((2, 3))(inputs).shape == (None, 2, 3, 4)
    layer = AdaptiveMaxPooling1D(3, data_format="channels_first")
    assert layer.get_config()["output_size"] == (3,)
    assert AdaptiveMaxPooling1D.from_config(layer.get_config()).get_config() == layer.get_config()
    x = torch.tensor(rng.standard_normal((2, 3, 4, 5)), dtype=torch.float64, requires_grad=True)
    pool = AdaptiveAveragePooling2D(3, dtype="float64")
    assert torch.autograd.gradcheck(pool, (x,))
    assert tuple(pool(x).shape) == (2, 3, 3, 5)


@pytest.mark.parametrize("make,match", [
    (lambda: AdaptiveAveragePooling2D((2, 2, 2)), r"AdaptiveAveragePooling2D.*output_size.*2 ints"),
    (lambda: AdaptiveMaxPooling1D(0), r"AdaptiveMaxPooling1D.*output_size.*positive"),
    (lambda: AdaptiveMaxPooling1D(2, data_format="NHWC"), r"AdaptiveMaxPooling1D.*data_format"),
    (lambda: AdaptiveMaxPooling1D(2)(np.zeros((2, 3), "float32")), r"expected ndim=3"),
])
def test_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
