"""Every case of tests/ops/op_cases.py against ``keras.ops`` (torch backend): values, shapes, dtypes, and
for ops on symbolic inputs the node each library records (op class, config, call arguments)."""

import json

import numpy as np
import pytest
import torch

import lamina
from tests.keras_reference import assert_close
from tests.ops.op_cases import CASES, A, L, array

PARAMS = [pytest.param(case, dtype, id=f"{case.name}-{index}-{dtype}")
          for index, case in enumerate(CASES) for dtype in case.dtypes]


def _function(module, case):
    if case.namespace:
        return getattr(getattr(module.ops, case.namespace), case.name)
    return getattr(module.ops, case.name)


def _tensorize(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
        return [torch.from_numpy(v.copy()) for v in value]
    if isinstance(value, tuple) and value and isinstance(value[0], np.ndarray):
        return tuple(torch.from_numpy(v.copy()) for v in value)
    return value


def _arguments(case, dtype):
    rng = np.random.default_rng(abs(hash((case.name, str(case.args), dtype))) % 2**32)
    args = [value.value if isinstance(value, L) else array(value, dtype, case.domain, rng) for value in case.args]
    kwargs = {key: value.value if isinstance(value, L) else array(value.shape, dtype, case.domain, rng)
              if isinstance(value, A) else value for key, value in case.kwargs.items()}
    return args, kwargs


def _leaves(value):
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _dtype(value):
    return str(value.dtype).replace("torch.", "") if hasattr(value, "dtype") else type(value).__name__


def _call(module, case, args, kwargs):
    return _function(module, case)(*[_tensorize(a) for a in args], **{k: _tensorize(v) for k, v in kwargs.items()})


@pytest.mark.parametrize("case,dtype", PARAMS)
def test_matches_keras(keras, case, dtype):
    args, kwargs = _arguments(case, dtype)
    if case.reference is not None:
        _assert_matches_reference(case, args, kwargs, dtype)
        return
    try:
        expected = _call(keras, case, args, kwargs)
    except Exception:  # Keras refuses these inputs: lamina must refuse them too
        with pytest.raises(Exception):
            _call(lamina, case, args, kwargs)
        return
    actual = _call(lamina, case, args, kwargs)
    expected_leaves, actual_leaves = _leaves(expected), _leaves(actual)
    assert len(actual_leaves) == len(expected_leaves), f"{case.name}: {len(actual_leaves)} outputs, Keras " \
                                                       f"{len(expected_leaves)}"
    for got, want in zip(actual_leaves, expected_leaves):
        if not isinstance(want, torch.Tensor):
            assert got == want, f"{case.name}: {got!r} != Keras {want!r}"
            continue
        assert isinstance(got, torch.Tensor), f"{case.name}: returned {type(got).__name__}, not a tensor"
        assert _dtype(got) == _dtype(want), f"{case.name}({dtype}): dtype {_dtype(got)} != Keras {_dtype(want)}"
        assert tuple(got.shape) == tuple(want.shape), f"{case.name}: shape {tuple(got.shape)} != {tuple(want.shape)}"
        if case.check == "shapes":
            continue
        if case.check == "partition":
            _assert_partition(args, got, want)
            continue
        tolerance = max(case.tolerance, 5e-3 if dtype == "float16" else 0)
        if want.is_complex():
            assert_close(torch.view_as_real(got), torch.view_as_real(want), tolerance, case.name)
        elif want.is_floating_point() and torch.isnan(want).any():
            assert torch.equal(torch.isnan(got), torch.isnan(want)), f"{case.name}: NaN positions differ"
            assert_close(torch.nan_to_num(got.float()), torch.nan_to_num(want.float()), tolerance, case.name)
        else:
            assert_close(got.float(), want.float(), tolerance, case.name)


def _assert_matches_reference(case, args, kwargs, dtype):
    expected = case.reference(*args, **kwargs)
    actual = _call(lamina, case, args, kwargs)
    for got, want in zip(_leaves(actual), _leaves(expected)):
        assert isinstance(got, torch.Tensor), f"{case.name}: returned {type(got).__name__}, not a tensor"
        assert_close(got.double(), np.asarray(want, dtype="float64"), max(case.tolerance, 1e-5), case.name)


def _assert_partition(args, got, want):
    """``got`` partitions x at kth (Keras's torch backend partitions int32-truncated values, so only the
    property is compared)."""
    x, kth = torch.from_numpy(args[0]), args[1]
    partitioned = torch.take_along_dim(x, got.long(), dim=-1)
    assert torch.equal(torch.sort(got.long(), dim=-1).values, torch.arange(x.shape[-1]).expand_as(got))
    assert torch.equal(partitioned[..., kth], torch.sort(x, dim=-1).values[..., kth])
    assert bool((partitioned[..., :kth] <= partitioned[..., kth:kth + 1]).all())
    assert bool((partitioned[..., kth + 1:] >= partitioned[..., kth:kth + 1]).all())


SYMBOLIC = [pytest.param(case, id=f"{case.name}-{index}") for index, case in enumerate(CASES)
            if case.symbolic and any(not isinstance(a, L) for a in case.args)]


def _symbolic(module, case, args, kwargs):
    inputs = []

    def symbolic(value, shape):
        tensor = module.Input(batch_shape=shape, dtype=str(np.asarray(value).dtype))
        inputs.append(tensor)
        return tensor

    symbolic_args = [symbolic(value, tuple(spec)) if not isinstance(spec, L) else _tensorize(value)
                     for value, spec in zip(args, case.args)]
    outputs = _function(module, case)(*symbolic_args, **{k: _tensorize(v) for k, v in kwargs.items()})
    return inputs, outputs


def _node_entry(config, name_of):
    """The op's entry in a functional config, with names replaced by graph positions."""
    entry = dict(config["layers"][-1])
    entry["config"] = {k: v for k, v in entry["config"].items() if k != "name"}
    entry.pop("name")

    def rename(item):
        if isinstance(item, dict):
            if item.get("class_name") == "__keras_tensor__":
                history = item["config"]["keras_history"]
                return {**item, "config": {**item["config"], "keras_history": [name_of[history[0]], *history[1:]]}}
            return {k: rename(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [rename(v) for v in item]
        return item

    return rename(entry)


@pytest.mark.parametrize("case", SYMBOLIC)
def test_symbolic_node_matches_keras(keras, case):
    dtype = case.dtypes[0]
    args, kwargs = _arguments(case, dtype)
    entries = []
    for module in (keras, lamina):
        inputs, outputs = _symbolic(module, case, args, kwargs)
        model = module.Model(inputs, outputs)
        config = model.get_config()
        name_of = {layer["name"]: index for index, layer in enumerate(config["layers"])}
        entries.append((_node_entry(config, name_of), [(tuple(t.shape), t.dtype) for t in _leaves(outputs)]))
    (keras_entry, keras_specs), (lamina_entry, lamina_specs) = entries
    assert lamina_specs == keras_specs, f"{case.name}: output specs {lamina_specs} != Keras {keras_specs}"
    assert json.loads(json.dumps(lamina_entry)) == json.loads(json.dumps(keras_entry)), f"{case.name}: node differs"


def test_function_taking_ops_match_keras(keras):
    """The ops that take Python functions (and the few without a tensor result) against Keras."""
    x = torch.arange(1.0, 7.0)
    for lib_ops in (keras.ops, lamina.ops):
        assert lib_ops.dtype(x) == "float32" and lib_ops.is_tensor(x) and not lib_ops.is_tensor(x.numpy())
        assert np.array_equal(lib_ops.convert_to_numpy(x), x.numpy())
        assert tuple(lib_ops.empty((2, 3)).shape) == (2, 3) and lib_ops.empty_like(x, dtype="int32").dtype == \
            torch.int32
    pairs = [
        lambda o: o.scan(lambda c, v: (c + v, c * v), torch.tensor(0.0), x),
        lambda o: o.scan(lambda c, v: (c * 2, c), torch.tensor(1.0), None, length=4, reverse=True),
        lambda o: o.associative_scan(lambda a, b: a * b, x),
        lambda o: o.associative_scan(lambda a, b: a + b, x.reshape(2, 3), reverse=True, axis=1),
        lambda o: o.map(lambda v: v * v, x),
        lambda o: o.switch(1, [lambda v: v + 1, lambda v: v * 3], x),
        lambda o: o.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s * 2), (0, torch.tensor(1.0))),
        lambda o: o.fori_loop(1, 5, lambda i, v: v + i * x, torch.zeros(6)),
        lambda o: o.vectorized_map(lambda v: v.sum() * 2, x.reshape(3, 2)),
        lambda o: o.jvp(lambda v: v.sin(), (x,), (torch.ones(6),)),
        lambda o: o.cond(torch.tensor(True), lambda: x * 2, lambda: x),
    ]
    for make in pairs:
        ours, theirs = make(lamina.ops), make(keras.ops)
        for got, want in zip(_leaves(ours), _leaves(theirs)):
            assert_close(torch.as_tensor(got), torch.as_tensor(want))

    def gradient(o):
        @o.custom_gradient
        def clipped(v):
            return v * 3, lambda *args, upstream: upstream.clamp(max=0.5)

        v = x.clone().requires_grad_()
        clipped(v).sum().backward()
        return v.grad

    assert_close(gradient(lamina.ops), gradient(keras.ops))
