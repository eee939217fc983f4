"""Reshaping layers against Keras 3: Flatten, Reshape, Permute, RepeatVector."""

import itertools

import numpy as np
import pytest
import torch
from keras_reference import assert_matches_keras

import lamina
from lamina import layers
from lamina.testing import run_layer_test


def _floats(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("shape,data_format", list(itertools.product(
    [(3,), (2, 5), (2, 3, 4), (2, 3, 4, 5), (1, 2, 3, 2, 2), (2, 2, 1, 3, 2, 2)], ["channels_last", "channels_first"])))
def test_flatten_matches_keras(keras, shape, data_format):
    assert_matches_keras(keras, "Flatten", {"data_format": data_format}, _floats(shape))


def test_flatten_shapes_and_symbolic():
    assert layers.Flatten().compute_output_shape((None, 3, None)) == (None, None)
    assert layers.Flatten()(lamina.Input((2, 3, 4))).shape == (None, 24)
    assert tuple(layers.Flatten()(torch.ones(0, 3, 4)).shape) == (0, 12)
    with pytest.raises(ValueError, match="data_format"):
        layers.Flatten(data_format="nchw")


RESHAPES = [((2, 12), (3, 4)), ((2, 12), (-1, 2)), ((2, 12), (2, -1, 3)), ((2, 12), (12,)), ((2, 3, 4), (-1,)),
            ((2, 3, 4), (4, 3)), ((2, 3, 4), (2, 2, 3)), ((2, 3, 4), (1, -1, 1)), ((2, 2, 3, 4), (6, 4)),
            ((2, 2, 3, 4), (-1, 2, 2)), ((3, 6), (1, 1, 6)), ((3, 6), (6, 1))]


@pytest.mark.parametrize("shape,target", RESHAPES)
def test_reshape_matches_keras(keras, shape, target):
    lamina_layer, keras_layer, _ = assert_matches_keras(keras, "Reshape", {"target_shape": target}, _floats(shape))
    assert lamina_layer.compute_output_shape(shape) == tuple(keras_layer.compute_output_shape(shape))
    assert lamina_layer.get_config()["target_shape"] == keras_layer.get_config()["target_shape"]


@pytest.mark.parametrize("input_shape,target,expected", [
    ((None, 12), (-1, 2), (None, 6, 2)), ((None, None, 4), (-1, 2), (None, None, 2)),
    ((None, None, 4), (3, 4), (None, 3, 4))])
def test_reshape_symbolic_shapes(input_shape, target, expected):
    assert layers.Reshape(target).compute_output_shape(input_shape) == expected
    assert layers.Reshape(target)(lamina.Input(input_shape[1:])).shape == expected


@pytest.mark.parametrize("target", [(-1, -1), (0, 3), (2.0, 3), "34", (3, -2)])
def test_reshape_rejects_bad_targets(target):
    with pytest.raises(ValueError, match="target_shape"):
        layers.Reshape(target)


@pytest.mark.parametrize("shape,target", [((2, 12), (5, 2)), ((2, 12), (-1, 5)), ((2, 3, 4), (7,))])
def test_reshape_size_mismatch_is_clear(shape, target):
    with pytest.raises(ValueError, match=r"Layer 'bad'.*cannot reshape.*sizes don't fit"):
        layers.Reshape(target, name="bad")(_floats(shape))


PERMUTATIONS = [p for n in (1, 2, 3, 4) for p in itertools.permutations(range(1, n + 1))]


@pytest.mark.parametrize("dims", PERMUTATIONS)
def test_permute_matches_keras(keras, dims):
    shape = (2,) + tuple(range(2, 2 + len(dims)))
    lamina_layer, keras_layer, _ = assert_matches_keras(keras, "Permute", {"dims": dims}, _floats(shape))
    assert lamina_layer.compute_output_shape(shape) == tuple(keras_layer.compute_output_shape(shape))


@pytest.mark.parametrize("dims", [(0, 1), (1, 3), (1, 1), (2,), "12", (1.0, 2.0), 2])
def test_permute_rejects_bad_dims(dims):
    with pytest.raises(ValueError, match="permutation"):
        layers.Permute(dims)


def test_permute_rank_check():
    with pytest.raises(ValueError, match="ndim=3"):
        layers.Permute((2, 1))(_floats((2, 3, 4, 5)))


@pytest.mark.parametrize("n,shape", list(itertools.product([1, 2, 5], [(3, 4), (1, 1), (4, 7)])))
def test_repeat_vector_matches_keras(keras, n, shape):
    assert_matches_keras(keras, "RepeatVector", {"n": n}, _floats(shape))


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_repeat_vector_rejects_bad_n(n):
    with pytest.raises(ValueError, match="positive int"):
        layers.RepeatVector(n)


def test_repeat_vector_gradient_and_rank_check():
    x = torch.ones(2, 3, requires_grad=True)
    layers.RepeatVector(4)(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 4.0))
    with pytest.raises(ValueError, match="ndim=2"):
        layers.RepeatVector(2)(_floats((2, 3, 4)))


@pytest.mark.parametrize("cls,kwargs,input_shape,expected", [
    (layers.Flatten, {}, (2, 3, 4), (2, 12)), (layers.Flatten, {"data_format": "channels_first"}, (2, 3, 4), (2, 12)),
    (layers.Reshape, {"target_shape": (-1, 2)}, (2, 3, 4), (2, 6, 2)), (layers.Permute, {"dims": (2, 1)}, (2, 3, 4),
                                                                        (2, 4, 3)),
    (layers.RepeatVector, {"n": 3}, (2, 4), (2, 3, 4))])
def test_reshaping_layer_test(cls, kwargs, input_shape, expected):
    run_layer_test(cls, kwargs, input_shape=input_shape, expected_output_shape=expected)
