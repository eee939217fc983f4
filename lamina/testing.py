"""``run_layer_test``: the checks every lamina layer passes, public for users' custom layers.

>>> from lamina.testing import run_layer_test
>>> run_layer_test(MyLayer, {"units": 3}, input_shape=(2, 4), expected_output_shape=(2, 3))

A failed check raises ``LayerTestFailure`` (an ``AssertionError``, so test runners report it as a
failure) whose message names the layer class and the check; checks run under ``python -O`` too.
"""

import copy
import inspect

import numpy as np
import torch

from lamina import tree
from lamina.engine.input_layer import Input
from lamina.engine.layer import is_shape
from lamina.layers.serialization import deserialize, serialize


class LayerTestFailure(AssertionError):
    """A check of ``run_layer_test`` failed; the message says which and why."""


def _tensor(data, dtype):
    """A tensor, or a list (or dict, by argument name) of tensors for a multi-input layer; ``dtype`` None:
    text, as a NumPy string array."""
    if isinstance(data, dict):
        return {name: _tensor(d, dtype) for name, d in data.items()}
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, (np.ndarray, torch.Tensor)) for d in data):
        return [_tensor(d, dtype) for d in data]
    if dtype is None:
        return np.asarray(data, dtype=str)
    return torch.as_tensor(np.asarray(data)).to(dtype)


def _shape_of(inputs):
    if isinstance(inputs, dict):
        return {name: tuple(t.shape) for name, t in inputs.items()}
    return [tuple(t.shape) for t in inputs] if isinstance(inputs, list) else tuple(inputs.shape)


def _call(layer, inputs, **kwargs):
    """Calls ``layer`` on one input, a list of inputs, or a dict of inputs passed by name (``query=``...)."""
    return layer(**inputs, **kwargs) if isinstance(inputs, dict) else layer(inputs, **kwargs)


def _compute_output_shape(layer, input_shape, call_kwargs=None):
    """Keras's convention: a dict of inputs is passed as ``<name>_shape`` arguments. The call's keyword
    arguments that ``compute_output_shape`` also takes (``reverse=True``...) are passed on."""
    parameters = inspect.signature(layer.compute_output_shape).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    options = {key: value for key, value in (call_kwargs or {}).items() if takes_any or key in parameters}
    if isinstance(input_shape, dict):
        return layer.compute_output_shape(**{f"{name}_shape": shape for name, shape in input_shape.items()}, **options)
    return layer.compute_output_shape(input_shape, **options)


def _symbolic_inputs(inputs, dtype):
    if isinstance(inputs, dict):
        return {name: _symbolic_inputs(t, dtype) for name, t in inputs.items()}
    if isinstance(inputs, list):
        return [Input(batch_shape=(None,) + tuple(t.shape[1:]), dtype=dtype) for t in inputs]
    return Input(batch_shape=(None,) + tuple(inputs.shape[1:]), dtype=dtype)


def _shapes(structure):
    """The shapes of a structure of tensors (or symbolic tensors), as tuples in the same structure."""
    return tree.map_structure(lambda t: tuple(t.shape) if t is not None else None, structure)


def _flat_shapes(structure):
    """The shapes in a structure of shapes (a shape, a tuple of ints and None, is one leaf)."""
    if structure is None or is_shape(structure):
        return [None if structure is None else tuple(structure)]
    if isinstance(structure, dict):
        return [shape for key in sorted(structure) for shape in _flat_shapes(structure[key])]
    return [shape for item in structure for shape in _flat_shapes(item)]


def _map_shapes(fn, structure):
    """``fn`` applied to each shape of a structure of shapes, keeping the structure."""
    if structure is None or is_shape(structure):
        return fn(structure)
    if isinstance(structure, dict):
        return {key: _map_shapes(fn, value) for key, value in structure.items()}
    return type(structure)(_map_shapes(fn, item) for item in structure)


def _same_structure_of_shapes(actual, expected, batch_unknown=False):
    """Whether two structures of shapes agree; with ``batch_unknown``, ``expected`` may have None anywhere."""
    flat_actual, flat_expected = _flat_shapes(actual), _flat_shapes(expected)
    if len(flat_actual) != len(flat_expected):
        return False
    for got, want in zip(flat_actual, flat_expected):
        if (got is None) != (want is None):
            return False
        if got is None:
            continue
        if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got, want)):
            return False
        if not batch_unknown and any(w is None and g is not None for g, w in zip(got, want)):
            return False
    return True


def run_layer_test(layer_cls, init_kwargs=None, input_shape=None, input_data=None, input_dtype="float32",
                   expected_output_shape=None, expected_num_trainable_weights=None,
                   expected_num_non_trainable_weights=None, supports_masking=None, run_training_check=True,
                   call_kwargs=None, custom_objects=None, input_mask=None, expected_mask_shape=None):
    """Checks a layer class end to end and returns the eager output.

    ``input_shape`` is one shape, or a list of shapes for a multi-input layer (``input_data``
    likewise one array or a list of arrays), or a dict of shapes by argument name for a layer called
    as ``layer(query=..., value=...)`` (``compute_output_shape`` then receives ``query_shape=``...). Outputs may be one tensor or a structure of tensors
    (``expected_output_shape`` then a structure of shapes). ``input_mask`` (a boolean array, or a
    list per input) is attached to the inputs as their Keras mask; ``expected_mask_shape`` is the
    shape of the output's mask it must produce.

    Checks: config round trip (``get_config``/``from_config`` and ``serialize``/``deserialize``);
    eager output shapes == ``expected_output_shape`` == ``compute_output_shape``; the symbolic
    output shapes on ``Input`` agree (batch None); weight counts; the output mask; ``get_weights``/
    ``set_weights`` and ``state_dict`` reloads reproduce the output; a backward pass reaches every
    trainable weight (when ``run_training_check``). ``input_dtype="string"`` takes ``input_data`` as
    text (NumPy ``str`` arrays), the way string layers (``StringLookup``, ``TextVectorization``) read it.
    """
    name = getattr(layer_cls, "__name__", repr(layer_cls))

    def check(condition, message):
        if not condition:
            raise LayerTestFailure(f"{name}: {message}")

    init_kwargs = dict(init_kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    torch_dtype = None if input_dtype == "string" else getattr(torch, input_dtype)
    if input_data is None:
        if input_shape is None or torch_dtype is None:
            raise ValueError("run_layer_test needs input_data for string inputs, and input_shape or input_data "
                             "otherwise.")
        generator = np.random.default_rng(0)

        def sample(shape):
            return generator.integers(0, 4, shape) if not torch_dtype.is_floating_point \
                else generator.standard_normal(shape)

        several = isinstance(input_shape, list) and all(isinstance(s, (tuple, list)) for s in input_shape)
        if isinstance(input_shape, dict):
            input_data = {name: sample(shape) for name, shape in input_shape.items()}
        else:
            input_data = [sample(s) for s in input_shape] if several else sample(input_shape)

    def fresh_inputs():
        tensors = _tensor(input_data, torch_dtype)
        if isinstance(input_mask, dict):
            for name, mask in input_mask.items():
                tensors[name]._keras_mask = torch.as_tensor(np.asarray(mask), dtype=torch.bool)
        elif input_mask is not None:
            masks = input_mask if isinstance(tensors, list) else [input_mask]
            for tensor, mask in zip(tree.flatten(tensors), masks):
                if mask is not None:
                    tensor._keras_mask = torch.as_tensor(np.asarray(mask), dtype=torch.bool)
        return tensors

    inputs = fresh_inputs()
    input_shape = _shape_of(inputs)

    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    rebuilt = layer_cls.from_config(copy.deepcopy(config))
    check(rebuilt.get_config() == config, f"config round trip changed the config:\n{config}\n{rebuilt.get_config()}")
    restored = deserialize(serialize(layer), custom_objects=custom_objects)
    check(type(restored) is layer_cls and restored.get_config() == config,
          "serialize/deserialize did not give the same class and config")

    output = _call(layer, inputs, **call_kwargs)
    flat_output = tree.flatten(output)
    check(all(isinstance(t, torch.Tensor) for t in flat_output),
          f"expected torch tensor outputs, got {[type(t).__name__ for t in flat_output]}")
    eager_shapes = _shapes(output)
    if expected_output_shape is not None:
        expected = tuple(expected_output_shape) if isinstance(output, torch.Tensor) else expected_output_shape
        check(_same_structure_of_shapes(eager_shapes, expected),
              f"eager output shape {eager_shapes} != expected {expected}")
    computed = _compute_output_shape(layer, input_shape, call_kwargs)
    check(_same_structure_of_shapes(eager_shapes, computed),
          f"compute_output_shape {computed} != eager shape {eager_shapes}")
    if expected_num_trainable_weights is not None:
        check(len(layer.trainable_weights) == expected_num_trainable_weights,
              f"{len(layer.trainable_weights)} trainable weights, expected {expected_num_trainable_weights}")
    if expected_num_non_trainable_weights is not None:
        check(len(layer.non_trainable_weights) == expected_num_non_trainable_weights,
              f"{len(layer.non_trainable_weights)} non-trainable weights, expected "
              f"{expected_num_non_trainable_weights}")
    if supports_masking is not None:
        check(layer.supports_masking == supports_masking, f"supports_masking is {layer.supports_masking}")
    if expected_mask_shape is not None:
        mask = getattr(flat_output[0], "_keras_mask", None)
        check(mask is not None and tuple(mask.shape) == tuple(expected_mask_shape),
              f"output mask {None if mask is None else tuple(mask.shape)} != expected {tuple(expected_mask_shape)}")

    symbolic_layer = layer_cls.from_config(copy.deepcopy(config))
    symbolic_output = _call(symbolic_layer, _symbolic_inputs(inputs, input_dtype), **call_kwargs)
    batchless = _map_shapes(lambda shape: (None,) + tuple(shape[1:]) if shape else shape, eager_shapes)
    check(_same_structure_of_shapes(batchless, _shapes(symbolic_output), batch_unknown=True),
          f"symbolic shape {_shapes(symbolic_output)} disagrees with eager {batchless}")

    twin = layer_cls.from_config(copy.deepcopy(config))
    _call(twin, fresh_inputs(), **call_kwargs)
    twin.set_weights(layer.get_weights())
    _assert_close(_call(twin, fresh_inputs(), **call_kwargs), output, f"{name}: set_weights(get_weights())")
    clone = layer_cls.from_config(copy.deepcopy(config))
    _call(clone, fresh_inputs(), **call_kwargs)
    clone.load_state_dict(layer.state_dict())
    _assert_close(_call(clone, fresh_inputs(), **call_kwargs), output, f"{name}: load_state_dict(state_dict())")

    if run_training_check and layer.trainable_weights:
        grad = torch_dtype is not None and torch_dtype.is_floating_point
        trained = fresh_inputs()
        trained = tree.map_structure(lambda t: t.requires_grad_(grad), trained)
        result = _call(layer, trained, training=True, **call_kwargs) if layer._call_has_training_arg \
            else _call(layer, trained, **call_kwargs)
        torch.stack([t.float().square().sum() for t in tree.flatten(result)]).sum().backward()
        missing = [i for i, w in enumerate(layer.trainable_weights) if w.grad is None]
        check(not missing, f"no gradient reached trainable weights {missing}")
    return output


def _assert_close(actual, expected, what):
    for got, want in zip(tree.flatten(actual), tree.flatten(expected)):
        got, want = got.detach().cpu().numpy(), want.detach().cpu().numpy()
        scale = max(1.0, float(np.abs(want).max()) if want.size else 1.0)
        try:
            np.testing.assert_allclose(got, want, atol=1e-5 * scale, rtol=0, err_msg=what)
        except AssertionError as error:
            raise LayerTestFailure(str(error)) from None
