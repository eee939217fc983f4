"""lamina.regularizers against keras.regularizers."""

import numpy as np
import pytest
import torch

from lamina import regularizers

CASES = [
    ("L1", {}), ("L1", {"l1": 0.3}), ("L2", {}), ("L2", {"l2": 0.25}), ("L1L2", {}), ("L1L2", {"l1": 0.1}),
    ("L1L2", {"l1": 0.01, "l2": 0.02}), ("L1L2", {"l1": None, "l2": 0.5}),
    ("OrthogonalRegularizer", {}), ("OrthogonalRegularizer", {"factor": 0.5, "mode": "columns"}),
]
IDS = [f"{n}-{k}" for n, k in CASES]


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_values_match_keras(keras, rng, name, kwargs):
    x = rng.standard_normal((7, 5)).astype("float32")
    ours = getattr(regularizers, name)(**kwargs)(torch.from_numpy(x))
    theirs = keras.ops.convert_to_numpy(getattr(keras.regularizers, name)(**kwargs)(torch.from_numpy(x)))
    assert isinstance(ours, torch.Tensor) and ours.shape == () and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-6)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_config_and_serialize_match_keras(keras, name, kwargs):
    ours = getattr(regularizers, name)(**kwargs)
    theirs = getattr(keras.regularizers, name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert regularizers.serialize(ours) == keras.regularizers.serialize(theirs)
    rebuilt = regularizers.deserialize(keras.regularizers.serialize(theirs))
    assert type(rebuilt) is type(ours) and rebuilt.get_config() == ours.get_config()


def test_l1_config_keeps_keras_float32_rounding(keras):
    assert regularizers.L1().get_config() == {"l1": 0.009999999776482582} == keras.regularizers.L1().get_config()


def test_regularization_gradient_flows():
    weight = torch.ones(3, 2, requires_grad=True)
    regularizers.L1L2(l1=0.5, l2=0.25)(weight).backward()
    np.testing.assert_allclose(weight.grad.numpy(), np.full((3, 2), 0.5 + 0.5))


def test_every_keras_name_resolves_to_the_same_class(keras):
    from keras.src.regularizers import ALL_OBJECTS_DICT

    names = {name: cls.__name__ for name, cls in ALL_OBJECTS_DICT.items()}
    assert {name: type(regularizers.get(name)).__name__ for name in names} == names
    assert isinstance(regularizers.get("l1_l2"), regularizers.L1L2)  # the keras.regularizers.l1_l2 export name


def test_get_none_instances_and_callables():
    assert regularizers.get(None) is None
    instance = regularizers.L2(0.5)
    assert regularizers.get(instance) is instance
    assert isinstance(regularizers.get(regularizers.L1), regularizers.L1)

    def penalty(x):
        return x.sum()

    assert regularizers.get(penalty) is penalty


@pytest.mark.parametrize("build,message", [
    (lambda: regularizers.L1(-1), r"L1: l1 must be a non-negative float. Received: l1=-1"),
    (lambda: regularizers.L2("0.1"), r"L2: l2 must be a non-negative float. Received: l2='0.1'"),
    (lambda: regularizers.L1L2(l2=float("inf")), r"L1L2: l2 must be a non-negative float. Received: l2=inf"),
    (lambda: regularizers.OrthogonalRegularizer(mode="diag"), r"mode must be 'rows' or 'columns'. Received: mode='diag'"),
    (lambda: regularizers.OrthogonalRegularizer()(torch.ones(2, 2, 2)), r"rank 2. Received: inputs.shape=\(2, 2, 2\)"),
    (lambda: regularizers.get("l3"), r"Unknown regularizer: 'l3'"),
    (lambda: regularizers.get(0.1), r"Could not interpret regularizer identifier.*Received: 0.1"),
])
def test_bad_arguments_raise(build, message):
    with pytest.raises(ValueError, match=message):
        build()
