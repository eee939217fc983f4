"""The flat optimizer state (lamina/optimizers/flat.py): the same numbers as the per-variable update, bit for
bit, for every optimizer that uses it; the variables stay usable everywhere; re-seated variables fall back."""

import io

import numpy as np
import pytest
import safetensors.torch
import torch

import lamina
from lamina import layers, optimizers
from lamina.optimizers.adam import bias_corrections
from lamina.optimizers.base import f32
from test_optimizers import CASES

# Odd sizes: each variable's last elements take the kernels' scalar tails, which the flat buffer moves.
SHAPES = [(16, 32), (32,), (3, 7), (1,), (5,), (33, 3), (2, 2, 3), (9,), (17,)]
FLAT_CASES = [(name, kwargs) for name, kwargs in CASES
              if getattr(getattr(optimizers, name)._update, "elementwise", False)]


def _variables(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in SHAPES]


def _grads(step):
    generator = torch.Generator().manual_seed(100 + step)
    return [torch.randn(shape, generator=generator) * 10.0 ** (step % 5 - 2) for shape in SHAPES]


def _train(optimizer, variables, steps=40):
    for step in range(steps):
        optimizer.apply(_grads(step), variables)
    return [v.detach().clone() for v in variables] + [v.detach().clone() for v in optimizer.variables]


def _per_variable(name, kwargs):
    """The optimizer with its flat state dropped after building: the per-variable update."""
    optimizer = getattr(optimizers, name)(**kwargs)
    variables = _variables()
    optimizer.build(variables)
    optimizer._flat = None
    return optimizer, variables


def _assert_identical(actual, expected):
    assert len(actual) == len(expected)
    for mine, theirs in zip(actual, expected):
        assert torch.equal(mine, theirs)


@pytest.mark.parametrize("name,kwargs", FLAT_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FLAT_CASES)])
def test_flat_update_is_the_per_variable_update_bit_for_bit(name, kwargs):
    flat, flat_variables = getattr(optimizers, name)(**kwargs), _variables()
    flat.build(flat_variables)
    assert flat._flat is not None and flat._flat.covers(flat_variables)
    expected = _train(*_per_variable(name, kwargs))
    _assert_identical(_train(flat, flat_variables), expected)
    assert flat._flat.covers(flat_variables)  # the flat path ran throughout


@pytest.mark.parametrize("name", ["Ftrl", "Lamb", "Muon", "Adafactor"])
def test_optimizers_whose_update_is_not_elementwise_keep_their_variables(name):
    optimizer, variables = getattr(optimizers, name)(), _variables()
    pointers = [v.data_ptr() for v in variables]
    optimizer.build(variables)
    assert optimizer._flat is None and [v.data_ptr() for v in variables] == pointers


def test_a_subclass_with_its_own_update_keeps_its_variables():
    class Custom(optimizers.SGD):
        def _update(self, grads, variables, lr):
            for grad, variable in zip(grads, variables):
                variable.sub_(grad * lr * variable.numel())

    optimizer, variables = Custom(), _variables()
    optimizer.build(variables)
    assert optimizer._flat is None


def test_mixed_dtypes_single_and_large_variables_are_not_flattened():
    """Large variables keep their own storage: gathering their gradients would cost more than it saves."""
    mixed = _variables()[:2]
    mixed[1].data = mixed[1].data.double()
    large = [torch.nn.Parameter(torch.zeros(256, 256)), torch.nn.Parameter(torch.zeros(256))]
    for variables in (mixed, _variables()[:1], large):
        optimizer = optimizers.Adam()
        optimizer.build(variables)
        assert optimizer._flat is None


def test_variables_stay_parameters_with_their_values_and_gradients():
    model = lamina.Sequential([layers.Input((4,)), layers.Dense(3), layers.Dense(2)])
    before = model.get_weights()
    optimizer = optimizers.Adam()
    optimizer.build(model.trainable_weights)
    assert optimizer._flat is not None
    for weight, value in zip(model.get_weights(), before):
        np.testing.assert_array_equal(weight, value)
    assert all(isinstance(w, torch.nn.Parameter) and w.is_leaf for w in model.trainable_weights)
    model(torch.ones(2, 4)).sum().backward()
    assert all(w.grad is not None and w.grad.shape == w.shape for w in model.trainable_weights)


def test_a_model_with_flat_weights_saves_and_loads_everywhere(tmp_path):
    model = lamina.Sequential([layers.Input((4,)), layers.Dense(3), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.ones((8, 4), "float32"), np.zeros((8, 2), "float32")
    model.fit(x, y, epochs=2, verbose=0)
    assert model.optimizer._flat is not None
    expected = model.predict(x, verbose=0)
    safetensors.torch.save_file(model.state_dict(), tmp_path / "weights.safetensors")
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    model.save(tmp_path / "model.keras")
    for state in (safetensors.torch.load_file(tmp_path / "weights.safetensors"),
                  torch.load(io.BytesIO(buffer.getvalue()))):
        other = lamina.Sequential([layers.Input((4,)), layers.Dense(3), layers.Dense(2)])
        other.load_state_dict(state)
        np.testing.assert_array_equal(other.predict(x, verbose=0), expected)
    loaded = lamina.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    for mine, theirs in zip(loaded.optimizer.variables, model.optimizer.variables):
        assert torch.equal(mine, theirs)


def test_reseated_variables_fall_back_to_the_per_variable_update():
    """``.to(dtype)`` gives every variable new storage: the update continues per variable, as it would have."""
    flat, flat_variables = optimizers.Adam(learning_rate=0.01), _variables()
    reference, variables = _per_variable("Adam", dict(learning_rate=0.01))
    _assert_identical(_train(flat, flat_variables, steps=5), _train(reference, variables, steps=5))
    module = torch.nn.ParameterList(flat_variables).to(torch.float64).to(torch.float32)
    assert not flat._flat.covers(list(module))
    _assert_identical(_train(flat, flat_variables, steps=5), _train(reference, variables, steps=5))


def test_a_subset_or_clipping_by_norm_runs_per_variable():
    flat, flat_variables = optimizers.SGD(learning_rate=0.1, momentum=0.9), _variables()
    reference, variables = _per_variable("SGD", dict(learning_rate=0.1, momentum=0.9))
    for optimizer, tensors in ((flat, flat_variables), (reference, variables)):
        optimizer.build(tensors)
        optimizer.apply(_grads(0)[:3], tensors[:3])
        optimizer.clipnorm = 0.5
        optimizer.apply(_grads(1), tensors)
    _assert_identical([v.detach() for v in flat_variables], [v.detach() for v in variables])


def test_bias_correction_table_rounds_as_the_per_step_scalar_computation():
    """Keras computes ``beta ** t`` on 0-d float32 tensors; the table must give those values for every step
    (torch's vectorized pow rounds some of them differently)."""
    for beta_1, beta_2 in ((0.9, 0.999), (0.5, 0.9), (0.95, 0.98)):
        table = bias_corrections(beta_1, beta_2, 1, 3000)
        for step in range(1, 3001):
            t = f32(float(step))
            expected = ((1 - torch.pow(f32(beta_1), t)).item(), torch.sqrt(1 - torch.pow(f32(beta_2), t)).item())
            assert tuple(float(value) for value in table[step - 1]) == expected, step
