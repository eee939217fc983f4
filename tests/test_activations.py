"""lamina.activations against keras.activations (torch backend)."""

import inspect

import numpy as np
import pytest
import torch

from lamina import activations
from lamina.saving import register_serializable

CASES = [
    ("relu", {}), ("relu", {"negative_slope": 0.1}), ("relu", {"max_value": 6}), ("relu", {"max_value": 2.5}),
    ("relu", {"threshold": 0.5}), ("relu", {"negative_slope": 0.1, "max_value": 3.0}),
    ("relu", {"negative_slope": 0.2, "threshold": -0.5, "max_value": 6}),
    ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.05}), ("relu6", {}),
    ("softmax", {}), ("softmax", {"axis": 0}), ("softmax", {"axis": (0, 2)}), ("softmax", {"axis": None}),
    ("log_softmax", {}), ("log_softmax", {"axis": 1}), ("log_softmax", {"axis": (1, 2)}),
    ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("celu", {}), ("celu", {"alpha": 2.0}),
    ("softplus", {}), ("softsign", {}), ("squareplus", {}), ("squareplus", {"b": 1}), ("sparse_plus", {}),
    ("silu", {}), ("swish", {}), ("gelu", {}), ("gelu", {"approximate": True}), ("glu", {}), ("glu", {"axis": 1}),
    ("tanh", {}), ("tanh_shrink", {}), ("hard_tanh", {}), ("soft_shrink", {}), ("soft_shrink", {"threshold": 1.0}),
    ("hard_shrink", {}), ("hard_shrink", {"threshold": 1.0}), ("threshold", {"threshold": 0.3, "default_value": -2.0}),
    ("sigmoid", {}), ("sparse_sigmoid", {}), ("log_sigmoid", {}), ("exponential", {}), ("hard_sigmoid", {}),
    ("hard_silu", {}), ("hard_swish", {}), ("linear", {}), ("mish", {}), ("sparsemax", {}), ("sparsemax", {"axis": 0}),
]
KERAS_ACTIVATION_NAMES = sorted(
    ["celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
     "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu", "sigmoid",
     "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax",
     "squareplus", "swish", "tanh", "tanh_shrink", "threshold"])


def test_every_keras_activation_exists(keras):
    public = {name for name in dir(keras.activations) if not name.startswith("_")}
    assert public - {"get", "serialize", "deserialize"} == set(KERAS_ACTIVATION_NAMES)
    assert {name for name, _ in CASES} == set(KERAS_ACTIVATION_NAMES)


@pytest.mark.parametrize("name", KERAS_ACTIVATION_NAMES)
def test_signature_matches_keras(keras, name):
    ours = inspect.signature(getattr(activations, name)).parameters
    theirs = inspect.signature(getattr(keras.activations, name)).parameters
    assert [(p.name, p.default) for p in ours.values()] == [(p.name, p.default) for p in theirs.values()]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_values_match_keras(keras, rng, name, kwargs):
    x = (rng.standard_normal((4, 6, 8)) * 3).astype("float32")
    x[0, 0, :3] = [0.0, 1.0, -1.0]  # the kinks of the piecewise functions
    ours = getattr(activations, name)(torch.from_numpy(x), **kwargs)
    theirs = getattr(keras.activations, name)(torch.from_numpy(x), **kwargs)
    assert isinstance(ours, torch.Tensor) and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), keras.ops.convert_to_numpy(theirs), rtol=1e-6, atol=1e-7)


def test_float64_preserved(keras, rng):
    x = torch.from_numpy(rng.standard_normal((3, 5)))
    for name in ("gelu", "softmax", "relu", "mish"):
        ours = getattr(activations, name)(x)
        assert ours.dtype == torch.float64
        np.testing.assert_allclose(ours.numpy(), keras.ops.convert_to_numpy(getattr(keras.activations, name)(x)),
                                   rtol=1e-12)


def test_softmax_over_size_one_axis_warns():
    with pytest.warns(UserWarning, match="axis -1 .* has size 1"):
        activations.softmax(torch.zeros(3, 1))


@pytest.mark.parametrize("name", KERAS_ACTIVATION_NAMES)
def test_serialize_matches_keras(keras, name):
    assert activations.serialize(getattr(activations, name)) == keras.activations.serialize(
        getattr(keras.activations, name))


@pytest.mark.parametrize("name", KERAS_ACTIVATION_NAMES)
def test_get_and_deserialize_resolve_names_as_keras(keras, name):
    assert activations.get(name).__name__ == keras.activations.get(name).__name__
    assert activations.deserialize(name) is activations.get(name)


def test_get_none_dict_and_callables():
    assert activations.get(None) is activations.linear
    assert activations.get({"class_name": "function", "config": "relu", "registered_name": "relu",
                            "module": "keras.activations"}) is activations.relu

    def custom(x):
        return x * 2

    assert activations.get(custom) is custom
    assert activations.deserialize("custom", custom_objects={"custom": custom}) is custom


def test_registered_custom_activation_round_trips():
    @register_serializable(package="test_activations")
    def doubled(x):
        return x * 2

    assert activations.deserialize(activations.serialize(doubled)) is doubled


def test_get_rejects_unknown_names_and_non_callables():
    with pytest.raises(ValueError, match="Unknown activation function: 'rleu'"):
        activations.get("rleu")
    with pytest.raises(ValueError, match="Could not interpret activation function identifier.*Received: 3"):
        activations.get(3)


def test_is_elementwise_names_exactly_the_builtins_that_commute_with_a_transpose():
    from lamina import registry

    x = torch.randn(6, 5, dtype=torch.float64) * 3
    for name, function in registry.builtins_of("keras.activations").items():
        if name == "glu":  # halves its axis: not even shape-preserving
            assert not activations.is_elementwise(function)
            continue
        apply = (lambda t: function(t, 0.5, -1.0)) if name == "threshold" else function  # no defaults
        commutes = torch.allclose(apply(x.T.contiguous()), apply(x).T, atol=1e-12)
        assert activations.is_elementwise(function) == commutes, name
    assert activations.is_elementwise(activations.hot_path_form(activations.relu))
    assert not activations.is_elementwise(lambda t: t * 2)
