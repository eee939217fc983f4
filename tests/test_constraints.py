"""lamina.constraints against keras.constraints."""

import numpy as np
import pytest
import torch

from lamina import constraints

CASES = [
    ("MaxNorm", {}), ("MaxNorm", {"max_value": 0.5, "axis": 1}), ("MaxNorm", {"max_value": 1, "axis": [0, 1, 2]}),
    ("MinMaxNorm", {}), ("MinMaxNorm", {"min_value": 1.0, "max_value": 1.5, "rate": 0.5, "axis": -1}),
    ("NonNeg", {}), ("UnitNorm", {}), ("UnitNorm", {"axis": [0, 1, 2]}),
]
IDS = [f"{n}-{k}" for n, k in CASES]


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_outputs_match_keras(keras, rng, name, kwargs):
    kernel = rng.standard_normal((3, 3, 4, 6)).astype("float32")  # a Conv2D kernel in Keras layout
    kernel[..., 0] *= 1e-3  # a slice with a tiny norm, where epsilon placement matters
    ours = getattr(constraints, name)(**kwargs)(torch.from_numpy(kernel))
    theirs = keras.ops.convert_to_numpy(getattr(keras.constraints, name)(**kwargs)(torch.from_numpy(kernel)))
    assert ours.shape == kernel.shape and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_config_and_serialize_match_keras(keras, name, kwargs):
    ours = getattr(constraints, name)(**kwargs)
    theirs = getattr(keras.constraints, name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert constraints.serialize(ours) == keras.constraints.serialize(theirs)
    rebuilt = constraints.deserialize(keras.constraints.serialize(theirs))
    assert type(rebuilt) is type(ours) and rebuilt.get_config() == ours.get_config()


def test_max_norm_leaves_small_columns_and_caps_large_ones():
    w = torch.tensor([[3.0, 0.3], [4.0, 0.4]])
    out = constraints.MaxNorm(max_value=2)(w)
    np.testing.assert_allclose(torch.linalg.norm(out, dim=0).numpy(), [2.0, 0.5], rtol=1e-6)


def test_every_keras_name_resolves_to_the_same_class(keras):
    from keras.src.constraints import ALL_OBJECTS_DICT

    names = {name: cls.__name__ for name, cls in ALL_OBJECTS_DICT.items()}
    assert {name: type(constraints.get(name)).__name__ for name in names} == names


def test_get_none_instances_and_callables():
    assert constraints.get(None) is None
    instance = constraints.UnitNorm(axis=1)
    assert constraints.get(instance) is instance
    assert isinstance(constraints.get(constraints.NonNeg), constraints.NonNeg)
    assert constraints.get(torch.abs) is torch.abs


@pytest.mark.parametrize("build,message", [
    (lambda: constraints.MaxNorm(max_value=-1), r"MaxNorm: max_value must be >= 0. Received: max_value=-1"),
    (lambda: constraints.MinMaxNorm(min_value=2.0, max_value=1.0),
     r"MinMaxNorm: expected 0 <= min_value <= max_value. Received: min_value=2.0, max_value=1.0"),
    (lambda: constraints.get("nonneg"), r"Unknown constraint: 'nonneg'"),
    (lambda: constraints.get(1), r"Could not interpret constraint identifier.*Received: 1"),
])
def test_bad_arguments_raise(build, message):
    with pytest.raises(ValueError, match=message):
        build()
