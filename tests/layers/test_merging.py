"""Merge layers: differential against Keras 3 over broadcast shapes, masks and axes; errors."""

import copy

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close, assert_matches_keras, masked_tensors

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


def _broadcast_cases():
    generator = np.random.default_rng(3)
    cases = []
    for name in ELEMENTWISE:
        for _ in range(16):
            rank = int(generator.integers(1, 4))
            full = [int(d) for d in generator.integers(2, 5, rank)]
            shapes = []
            for _ in range(2 if name == "Subtract" else int(generator.integers(2, 4))):
                shape = [1 if generator.random() < 0.3 else d for d in full]
                drop = int(generator.integers(0, rank)) if generator.random() < 0.3 else 0
                shapes.append(tuple(shape[drop:]))
            cases.append((name, shapes))
    return cases


@pytest.mark.parametrize("name,shapes", _broadcast_cases())
def test_elementwise_broadcasting_matches_keras(keras, name, shapes):
    generator = np.random.default_rng(len(shapes))
    inputs = [generator.standard_normal((3,) + s).astype("float32") for s in shapes]
    layer, _, output = assert_matches_keras(keras, name, {}, inputs)
    assert tuple(output.shape) == layer.compute_output_shape([(3,) + s for s in shapes])
    functional = getattr(lamina.layers, name.lower())(inputs)
    assert_close(functional, output)


MASK_PATTERNS = [(True, True), (True, False), (False, True), (True, True, True), (True, False, True),
                 (False, True, True), (False, False, True)]


@pytest.mark.parametrize("name,pattern", [(n, p) for n in ELEMENTWISE + ["Concatenate"] for p in MASK_PATTERNS
                                          if n != "Subtract" or len(p) == 2])
def test_masks_match_keras(keras, name, pattern):
    generator = np.random.default_rng(len(pattern))
    arrays = [generator.standard_normal((3, 5, 4)).astype("float32") for _ in pattern]
    masks = [generator.random((3, 5)) < 0.5 if has else None for has in pattern]
    expected = getattr(keras.layers, name)()(masked_tensors(arrays, masks))
    actual = getattr(lamina.layers, name)()(masked_tensors(arrays, masks))
    assert_close(actual, expected, what=f"{name} {pattern}")
    expected_mask, actual_mask = getattr(expected, "_keras_mask", None), getattr(actual, "_keras_mask", None)
    assert (expected_mask is None) == (actual_mask is None), f"{name} {pattern}: mask presence differs"
    if expected_mask is not None:
        np.testing.assert_array_equal(actual_mask.numpy(), expected_mask.numpy())


def test_concatenate_mask_along_time(keras):
    arrays = [np.ones((2, 3, 4), "float32"), np.ones((2, 2, 4), "float32")]
    masks = [np.array([[1, 0, 1], [0, 0, 1]], bool), None]
    expected = keras.layers.Concatenate(axis=1)(masked_tensors(arrays, masks))
    actual = lamina.layers.Concatenate(axis=1)(masked_tensors(arrays, masks))
    np.testing.assert_array_equal(actual._keras_mask.numpy(), expected._keras_mask.numpy())


def _concatenate_cases():
    generator = np.random.default_rng(5)
    cases = []
    for _ in range(30):
        rank = int(generator.integers(2, 5))
        axis = int(generator.integers(1, rank)) * (1 if generator.random() < 0.5 else -1)
        base = [int(d) for d in generator.integers(1, 4, rank - 1)]
        shapes = []
        for _ in range(int(generator.integers(1, 4))):
            shape = list(base)
            shape[(axis if axis > 0 else rank + axis) - 1] = int(generator.integers(1, 4))
            shapes.append(tuple(shape))
        cases.append((axis, shapes))
    return cases


@pytest.mark.parametrize("axis,shapes", _concatenate_cases())
def test_concatenate_matches_keras(keras, axis, shapes):
    generator = np.random.default_rng(abs(axis))
    inputs = [generator.standard_normal((2,) + s).astype("float32") for s in shapes]
    layer, _, output = assert_matches_keras(keras, "Concatenate", {"axis": axis}, inputs)
    assert tuple(output.shape) == layer.compute_output_shape([(2,) + s for s in shapes])
    assert_close(lamina.layers.concatenate(inputs, axis=axis), output)


DOT_CASES = [((4,), (4,), 1), ((4,), (4,), -1), ((3, 4), (3, 5), 1), ((3, 4), (5, 4), (2, 2)),
             ((3, 4), (4,), (2, 1)), ((4,), (3, 4), (1, 2)), ((2, 3, 4), (4, 5), (3, 1)),
             ((2, 3, 4), (5, 3), (2, 2)), ((2, 3, 4), (3, 2, 5), (1, 2)), ((3, 4), (3, 4), (-1, -1)),
             ((3, 4), (3, 4), (1, -2)), ((2, 2, 3), (2, 3, 2), (-3, 1))]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("shape1,shape2,axes", DOT_CASES)
def test_dot_matches_keras(keras, shape1, shape2, axes, normalize):
    generator = np.random.default_rng(7)
    inputs = [generator.standard_normal((3,) + shape1).astype("float32"),
              generator.standard_normal((3,) + shape2).astype("float32")]
    kwargs = {"axes": axes, "normalize": normalize}
    layer, _, output = assert_matches_keras(keras, "Dot", kwargs, inputs)
    assert tuple(output.shape) == layer.compute_output_shape([(3,) + shape1, (3,) + shape2])
    assert_close(lamina.layers.dot(inputs, **kwargs), output)


@pytest.mark.parametrize("name,kwargs", [(n, {}) for n in ELEMENTWISE] +
                         [("Concatenate", {"axis": 1}), ("Dot", {"axes": (1, 1), "normalize": True})])
def test_layer_contract(name, kwargs):
    """run_layer_test's checks for a two-input layer: configs, symbolic shapes, serialization, backward."""
    cls = getattr(lamina.layers, name)
    generator = np.random.default_rng(0)
    shapes = [(2, 3, 4), (2, 3, 4)]
    inputs = [torch.as_tensor(generator.standard_normal(s).astype("float32"), dtype=torch.float32).requires_grad_()
              for s in shapes]
    layer = cls(**kwargs)
    config = layer.get_config()
    assert cls.from_config(copy.deepcopy(config)).get_config() == config
    restored = lamina.layers.deserialize(lamina.layers.serialize(layer))
    assert type(restored) is cls and restored.get_config() == config
    output = layer(inputs)
    assert tuple(output.shape) == layer.compute_output_shape(shapes)
    symbolic = cls.from_config(copy.deepcopy(config))([lamina.Input(shape=s[1:]) for s in shapes])
    assert symbolic.shape == (None,) + tuple(output.shape[1:])
    output.square().sum().backward()
    assert all(x.grad is not None for x in inputs)
    assert layer.weights == []


@pytest.mark.parametrize("call,match", [
    (lambda: lamina.layers.Add()(torch.ones(2, 3)), "should be called on a list"),
    (lambda: lamina.layers.Add()([torch.ones(2, 3), torch.ones(2, 4)]), "incompatible shapes"),
    (lambda: lamina.layers.Add()([torch.ones(2, 3), torch.ones(3, 3)]), "different batch sizes"),
    (lambda: lamina.layers.Subtract()([torch.ones(2, 3)] * 3), "exactly 2 inputs"),
    (lambda: lamina.layers.Concatenate()([torch.ones(2, 3), torch.ones(2, 3, 1)]), "matching shapes"),
    (lambda: lamina.layers.Concatenate(axis=1)([torch.ones(2, 3, 4), torch.ones(2, 3, 5)]), "matching shapes"),
    (lambda: lamina.layers.Concatenate(axis=0)([torch.ones(2, 3), torch.ones(2, 3)]), "batch axis"),
    (lambda: lamina.layers.Dot(1)([torch.ones(2, 3), torch.ones(2, 4)]), "axis values 3"),
    (lambda: lamina.layers.Dot((0, 1))([torch.ones(2, 3), torch.ones(2, 3)]), "batch axis 0"),
    (lambda: lamina.layers.Dot(1)([torch.ones(2, 3)] * 3), "list of 2 inputs"),
    (lambda: lamina.layers.Dot((1, 2, 3)), "two integers"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_dot_axes_type_error():
    with pytest.raises(TypeError, match="list or an int"):
        lamina.layers.Dot("1")


def test_symbolic_broadcast_and_unknown_dims():
    a, b = lamina.Input(shape=(None, 4)), lamina.Input(shape=(1, 4))
    assert lamina.layers.add([a, b]).shape == (None, None, 4)
    assert lamina.layers.concatenate([a, lamina.Input(shape=(3, 4))], axis=1).shape == (None, None, 4)
    assert lamina.layers.dot([lamina.Input(shape=(3, 4)), lamina.Input(shape=(5, 4))], axes=2).shape == (None, 3, 5)
