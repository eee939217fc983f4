"""``run_layer_test``: the checks every lamina layer passes, public for users' custom layers.

>>> from lamina.testing import run_layer_test
>>> run_layer_test(MyLayer, {"units": 3}, input_shape=(2, 4), expected_output_shape=(2, 3))
"""

import copy

import numpy as np
import torch

from lamina.engine.input_layer import Input
from lamina.layers.serialization import deserialize, serialize


def _tensor(data, dtype):
    """A tensor, or a list of tensors for a multi-input layer (a list of arrays/tensors)."""
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, (np.ndarray, torch.Tensor)) for d in data):
        return [_tensor(d, dtype) for d in data]
    return torch.as_tensor(np.asarray(data)).to(dtype)


def _shape_of(inputs):
    return [tuple(t.shape) for t in inputs] if isinstance(inputs, list) else tuple(inputs.shape)


def _symbolic_inputs(inputs, dtype):
    if isinstance(inputs, list):
        return [Input(batch_shape=(None,) + tuple(t.shape[1:]), dtype=dtype) for t in inputs]
    return Input(batch_shape=(None,) + tuple(inputs.shape[1:]), dtype=dtype)


def run_layer_test(layer_cls, init_kwargs=None, input_shape=None, input_data=None, input_dtype="float32",
                   expected_output_shape=None, expected_num_trainable_weights=None,
                   expected_num_non_trainable_weights=None, supports_masking=None, run_training_check=True,
                   call_kwargs=None, custom_objects=None):
    """Checks a layer class end to end and returns the eager output.

    ``input_shape`` is one shape, or a list of shapes for a multi-input layer (``input_data``
    likewise one array or a list of arrays).

    Checks: config round trip (``get_config``/``from_config`` and ``serialize``/``deserialize``);
    eager output shape == ``expected_output_shape`` == ``compute_output_shape``; the symbolic
    output shape on ``Input`` agrees (batch None); weight counts; ``get_weights``/``set_weights``
    and ``state_dict`` reloads reproduce the output; a backward pass reaches every trainable
    weight (when ``run_training_check``).
    """
    init_kwargs = dict(init_kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    torch_dtype = getattr(torch, input_dtype)
    if input_data is None:
        if input_shape is None:
            raise ValueError("run_layer_test needs input_shape or input_data.")
        generator = np.random.default_rng(0)

        def sample(shape):
            return generator.integers(0, 4, shape) if not torch_dtype.is_floating_point \
                else generator.standard_normal(shape)

        several = isinstance(input_shape, list) and all(isinstance(s, (tuple, list)) for s in input_shape)
        input_data = [sample(s) for s in input_shape] if several else sample(input_shape)
    inputs = _tensor(input_data, torch_dtype)
    input_shape = _shape_of(inputs)

    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    rebuilt = layer_cls.from_config(copy.deepcopy(config))
    assert rebuilt.get_config() == config, f"config round trip changed the config:\n{config}\n{rebuilt.get_config()}"
    restored = deserialize(serialize(layer), custom_objects=custom_objects)
    assert type(restored) is layer_cls and restored.get_config() == config

    output = layer(inputs, **call_kwargs)
    assert isinstance(output, torch.Tensor), f"expected a torch tensor output, got {type(output).__name__}"
    if expected_output_shape is not None:
        assert tuple(output.shape) == tuple(expected_output_shape), \
            f"eager output shape {tuple(output.shape)} != expected {tuple(expected_output_shape)}"
    computed = layer.compute_output_shape(input_shape)
    assert tuple(computed) == tuple(output.shape), \
        f"compute_output_shape {tuple(computed)} != eager shape {tuple(output.shape)}"
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    if supports_masking is not None:
        assert layer.supports_masking == supports_masking

    symbolic_layer = layer_cls.from_config(copy.deepcopy(config))
    symbolic_output = symbolic_layer(_symbolic_inputs(inputs, input_dtype), **call_kwargs)
    expected_symbolic = (None,) + tuple(output.shape[1:])
    assert all(s is None or s == e for s, e in zip(symbolic_output.shape, expected_symbolic)) and \
        len(symbolic_output.shape) == len(expected_symbolic), \
        f"symbolic shape {symbolic_output.shape} disagrees with eager {expected_symbolic}"

    twin = layer_cls.from_config(copy.deepcopy(config))
    twin(inputs, **call_kwargs)
    twin.set_weights(layer.get_weights())
    _assert_close(twin(inputs, **call_kwargs), output, "set_weights(get_weights())")
    clone = layer_cls.from_config(copy.deepcopy(config))
    clone(inputs, **call_kwargs)
    clone.load_state_dict(layer.state_dict())
    _assert_close(clone(inputs, **call_kwargs), output, "load_state_dict(state_dict())")

    if run_training_check and layer.trainable_weights:
        grad = torch_dtype.is_floating_point
        trained = [t.clone().requires_grad_(grad) for t in inputs] if isinstance(inputs, list) \
            else inputs.clone().requires_grad_(grad)
        result = layer(trained, training=True, **call_kwargs) if layer._call_has_training_arg \
            else layer(trained, **call_kwargs)
        result.float().square().sum().backward()
        missing = [i for i, w in enumerate(layer.trainable_weights) if w.grad is None]
        assert not missing, f"no gradient reached trainable weights {missing}"
    return output


def _assert_close(actual, expected, what):
    actual, expected = actual.detach().cpu().numpy(), expected.detach().cpu().numpy()
    scale = max(1.0, float(np.abs(expected).max()) if expected.size else 1.0)
    np.testing.assert_allclose(actual, expected, atol=1e-5 * scale, rtol=0, err_msg=what)
