"""Property-based robustness of every registered layer (hypothesis: fixed seed, bounded examples).

Each row of tests/layer_cases.py is the valid configuration; the tests perturb one constructor argument,
or the input of the built layer, and require either a correct result (the shape ``compute_output_shape``
promises) or a ValueError/TypeError whose message names the layer (and, for a constructor argument, the
argument). Anything else — another exception type, a wrong shape — fails.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lamina.testing import _call as _call_layer
from lamina.testing import _compute_output_shape
from layer_cases import LAYER_CASES

EXAMPLES = 12
# No shrinking: a failure reports the drawn argument and value (or perturbation) as they were generated.
SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
BAD_VALUES = [-1, 0, -2.5, 2.5, 37, math.nan, math.inf, "nonsense", None, [], [1, -1], (0, 0), True, {"a": 1},
              object()]
DTYPES = [torch.int64, torch.int32, torch.bool, torch.uint8, torch.float16, torch.float64, torch.complex64]


def _leaf(shape, case, generator):
    if case.input_dtype.startswith("int"):
        return torch.as_tensor(generator.integers(0, 4, shape))
    return torch.as_tensor(generator.standard_normal(shape).astype("float32"))


def _inputs(case, shapes=None):
    """The case's inputs: its given data, else random data of its input shape(s) (a shape, a list or a dict)."""
    if shapes is None and case.input_data is not None:
        data = case.input_data
        return [np.asarray(d) for d in data] if isinstance(data[0], np.ndarray) else np.asarray(data)
    shapes = case.input_shape if shapes is None else shapes
    generator = np.random.default_rng(0)
    if isinstance(shapes, dict):
        return {key: _leaf(shape, case, generator) for key, shape in shapes.items()}
    if isinstance(shapes, list):
        return [_leaf(shape, case, generator) for shape in shapes]
    return _leaf(shapes, case, generator)


def _leaves(inputs):
    """(keys, leaves) of an input structure, to perturb one leaf and put it back with ``_replace``."""
    if isinstance(inputs, dict):
        return list(inputs), list(inputs.values())
    if isinstance(inputs, list):
        return list(range(len(inputs))), list(inputs)
    return [None], [inputs]


def _replace(inputs, key, leaf):
    if key is None:
        return leaf
    copied = dict(inputs) if isinstance(inputs, dict) else list(inputs)
    copied[key] = leaf
    return copied


def _with_dtype(leaf, dtype):
    tensor = torch.as_tensor(leaf) if not isinstance(leaf, torch.Tensor) else leaf
    return tensor.abs().to(dtype) if dtype in (torch.uint8, torch.bool) else tensor.to(dtype)


def _numeric(leaf):
    return isinstance(leaf, torch.Tensor) or np.asarray(leaf).dtype.kind in "biuf"


def _names_the_layer(message, layer_cls, layer=None):
    """The message names the layer, its class, or (for containers such as Pipeline) the inner layer that failed."""
    if layer_cls.__name__ in message or (layer is not None and f"'{layer.name}'" in message):
        return True
    inner = [] if layer is None else [m for m in layer.modules() if m is not layer and hasattr(m, "name")]
    return any(type(m).__name__ in message or f"'{m.name}'" in message for m in inner)


def _shape(value):
    return tuple(np.shape(value)) if not isinstance(value, torch.Tensor) else tuple(value.shape)


def _check_result(layer, inputs, output):
    if isinstance(inputs, dict):
        shapes = {key: _shape(value) for key, value in inputs.items()}
    elif isinstance(inputs, list) and inputs and not isinstance(inputs[0], (int, float, str, list)):
        shapes = [_shape(t) for t in inputs]
    else:
        shapes = _shape(inputs)
    expected = _compute_output_shape(layer, shapes)
    got = [tuple(t.shape) for t in output] if isinstance(output, (list, tuple)) else tuple(output.shape)
    expected = [tuple(e) for e in expected] if isinstance(got, list) else tuple(expected)
    assert got == expected, f"{type(layer).__name__}: output shape {got} != compute_output_shape {expected}"


def _call(layer, inputs, case):
    """Calls ``layer``; a clear ValueError/TypeError naming it is an accepted outcome."""
    try:
        output = _call_layer(layer, inputs, **case.call_kwargs)
    except (ValueError, TypeError) as error:
        assert _names_the_layer(str(error), case.cls, layer), f"{case.id}: error without the layer's name: {error!r}"
        return
    _check_result(layer, inputs, output)


@pytest.mark.parametrize("case", LAYER_CASES, ids=[case.id for case in LAYER_CASES])
@SETTINGS
@given(data=st.data())
def test_bad_constructor_arguments(case, data):
    keys = sorted(case.init_kwargs) + ["name", "dtype"]
    key = data.draw(st.sampled_from(keys), label="argument")
    value = data.draw(st.sampled_from(BAD_VALUES), label="value")
    try:
        layer = case.cls(**{**case.init_kwargs, key: value})
    except (ValueError, TypeError) as error:
        message = str(error)
        assert _names_the_layer(message, case.cls) or "layer" in message.lower(), \
            f"{case.id}({key}={value!r}): error without the layer's name: {error!r}"
        assert key in message, f"{case.id}({key}={value!r}): error without the argument's name: {error!r}"
        return
    _call(layer, _inputs(case), case)


def _reshaped(draw, leaf):
    """``leaf`` with one axis added, dropped, grown, shrunk or emptied (the batch or another axis)."""
    array = leaf.numpy() if isinstance(leaf, torch.Tensor) else np.asarray(leaf)
    kind = draw(st.sampled_from(["add_axis", "drop_axis", "grow", "shrink", "zero_batch", "zero_axis"]))
    axis = draw(st.integers(1, max(1, array.ndim - 1)))
    if kind == "add_axis":
        array = np.stack([array, array], axis=min(axis, array.ndim))
    elif kind == "drop_axis" and array.ndim > 1:
        array = np.take(array, 0, axis=axis)
    elif kind == "grow" and array.ndim > 1:
        array = np.concatenate([array, np.take(array, [0], axis=axis)], axis=axis)
    elif kind == "shrink" and array.ndim > 1 and array.shape[axis] > 1:
        array = np.take(array, range(array.shape[axis] - 1), axis=axis)
    elif kind == "zero_batch":
        array = array[:0]
    elif kind == "zero_axis" and array.ndim > 1:
        array = np.take(array, [], axis=axis)
    return torch.as_tensor(array) if isinstance(leaf, torch.Tensor) else array


@pytest.mark.parametrize("case", LAYER_CASES, ids=[case.id for case in LAYER_CASES])
@SETTINGS
@given(data=st.data())
def test_bad_inputs_to_a_built_layer(case, data):
    layer = case.cls(**case.init_kwargs)
    inputs = _inputs(case)
    _call_layer(layer, inputs, **case.call_kwargs)
    keys, leaves = _leaves(inputs)
    index = data.draw(st.integers(0, len(leaves) - 1), label="input")
    leaf = leaves[index]
    kind = data.draw(st.sampled_from(["shape", "dtype", "nan", "inf", "numpy", "list"]), label="perturbation")
    if kind == "shape":
        leaf = _reshaped(data.draw, leaf)
    elif kind == "dtype" and _numeric(leaf):
        leaf = _with_dtype(leaf, data.draw(st.sampled_from(DTYPES), label="dtype"))
    elif kind in ("nan", "inf") and isinstance(leaf, torch.Tensor) and leaf.is_floating_point():
        leaf = torch.full_like(leaf, math.nan if kind == "nan" else math.inf)
    elif kind == "numpy" and isinstance(leaf, torch.Tensor):
        leaf = leaf.numpy()
    elif kind == "list":
        leaf = leaf.tolist()
    _call(layer, _replace(inputs, keys[index], leaf), case)
