"""lamina.utils: set_random_seed, to_categorical and normalize against keras.utils."""

import random

import numpy as np
import pytest
import torch

from lamina import initializers
from lamina.utils import normalize, set_random_seed, to_categorical


def test_set_random_seed_seeds_python_numpy_and_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(()).item(), initializers.GlorotUniform()((3,)).tolist()

    set_random_seed(123)
    first = draw()
    set_random_seed(123)
    assert draw() == first
    set_random_seed(124)
    assert draw()[0] != first[0]


@pytest.mark.parametrize("seed", [1.5, "1", None, True, -1, 2**32])
def test_set_random_seed_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*32\). Received: seed="):
        set_random_seed(seed)


@pytest.mark.parametrize("labels,num_classes", [
    ([0, 2, 1], None), ([[1], [3]], None), ([[1], [3]], 5), (np.array([[0, 1], [2, 0]]), None), (3, None),
    (np.array([[[1]], [[0]]]), 3), ([1.0, 2.0], None),
])
def test_to_categorical_matches_keras(keras, labels, num_classes):
    ours = to_categorical(labels, num_classes)
    theirs = keras.utils.to_categorical(labels, num_classes)
    assert isinstance(ours, np.ndarray) and ours.dtype == np.float32  # Keras 3.15 gives float64 here
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_to_categorical_of_a_tensor_is_a_tensor(keras):
    ours = to_categorical(torch.tensor([[2], [0]]), 4)
    theirs = keras.ops.convert_to_numpy(keras.utils.to_categorical(torch.tensor([[2], [0]]), 4))
    assert isinstance(ours, torch.Tensor) and ours.dtype == torch.float32
    np.testing.assert_array_equal(ours.numpy(), theirs)


def test_to_categorical_rejects_bad_labels():
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 3\). Received: indices from 0 to 3"):
        to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="integer class indices. Received: x=\\[0.5\\]"):
        to_categorical([0.5])


@pytest.mark.parametrize("axis,order", [(-1, 2), (1, 1), (-1, 3)])
def test_normalize_numpy_matches_keras(keras, rng, axis, order):
    x = rng.standard_normal((4, 4))
    x[1] = 0.0
    ours = normalize(x, axis=axis, order=order)
    assert isinstance(ours, np.ndarray)
    np.testing.assert_allclose(ours, keras.utils.normalize(x, axis=axis, order=order), rtol=1e-12)


def test_normalize_numpy_axis_zero_follows_the_rule(keras, rng):
    # Keras 3.15's NumPy path expands the norms at axis -1 whatever `axis` is (`axis or -1`), which
    # scrambles axis=0 on square inputs; lamina normalizes the columns, as Keras's tensor path does.
    x = rng.standard_normal((4, 4))
    expected = keras.ops.convert_to_numpy(keras.utils.normalize(torch.from_numpy(x), axis=0))
    np.testing.assert_allclose(normalize(x, axis=0), expected, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(normalize(x, axis=0), axis=0), np.ones(4), rtol=1e-12)


def test_normalize_numpy_one_dimensional_gets_a_leading_axis_as_keras(keras):
    x = np.array([3.0, 4.0])
    np.testing.assert_array_equal(normalize(x), keras.utils.normalize(x))
    assert normalize(x).shape == (1, 2)


@pytest.mark.parametrize("axis,order", [(-1, 2), (0, 2), (1, 1), (-1, 3), (None, 2)])
def test_normalize_torch_matches_keras(keras, rng, axis, order):
    x = rng.standard_normal((3, 5)).astype("float32")
    x[0] = 0.0
    ours = normalize(torch.from_numpy(x), axis=axis, order=order)
    assert isinstance(ours, torch.Tensor)
    theirs = keras.ops.convert_to_numpy(keras.utils.normalize(torch.from_numpy(x), axis=axis, order=order))
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-6, atol=1e-7)


def test_normalize_torch_rejects_bad_order():
    with pytest.raises(ValueError, match="order must be an int >= 1 for tensors. Received: order=0"):
        normalize(torch.ones(3), order=0)
