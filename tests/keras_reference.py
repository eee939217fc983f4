"""Differential testing against real Keras 3 (torch backend): one line per case.

``assert_matches_keras`` builds the same layer in Keras and lamina, copies Keras's
random weights into lamina with ``set_weights``, and compares outputs within
float32 tolerance 1e-5 * max(1, max|y|), and the get_config keys.
"""

import numpy as np
import torch

import lamina


def to_numpy(value):
    if isinstance(value, (list, tuple)):
        return [to_numpy(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def masked_tensors(arrays, masks):
    """Fresh tensors from ``arrays``, each carrying its Keras mask from ``masks`` (None: no mask), as
    ``Embedding(mask_zero=True)`` or ``Masking`` outputs do. Keras's MultiHeadAttention deletes the masks
    of its inputs: make new tensors for every call."""
    tensors = []
    for array, mask in zip(arrays, masks):
        tensor = torch.as_tensor(array)
        if mask is not None:
            tensor._keras_mask = torch.as_tensor(mask)
        tensors.append(tensor)
    return tensors


def assert_close(actual, expected, tolerance=1e-5, what=""):
    actual, expected = to_numpy(actual), to_numpy(expected)
    if isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), what
        for a, e in zip(actual, expected):
            assert_close(a, e, tolerance, what)
        return
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != Keras {expected.shape}"
    scale = max(1.0, float(np.abs(expected).max()) if expected.size else 1.0)
    np.testing.assert_allclose(actual, expected, atol=tolerance * scale, rtol=0, err_msg=what)


def assert_matches_keras(keras, class_name, kwargs, inputs, call_kwargs=None, lamina_kwargs=None,
                         tolerance=1e-5, check_config=True, randomize_weights=True, seed=0):
    """Same layer, same weights, same inputs: lamina's output equals Keras's.

    Args:
        keras: the keras module (fixture).
        class_name: the layer's name in both ``keras.layers`` and ``lamina.layers``.
        kwargs: constructor arguments for both (``lamina_kwargs`` overrides for lamina).
        inputs: a NumPy array or list of arrays.
        randomize_weights: replace Keras's initial weights by random normals first, so zero
            biases and unit scales don't hide layout mistakes.
    Returns (lamina_layer, keras_layer, lamina_output).
    """
    call_kwargs = dict(call_kwargs or {})
    keras_layer = getattr(keras.layers, class_name)(**kwargs)
    lamina_layer = getattr(lamina.layers, class_name)(**(lamina_kwargs if lamina_kwargs is not None else kwargs))
    keras_inputs = [np.asarray(x) for x in inputs] if isinstance(inputs, list) else np.asarray(inputs)
    keras_layer(keras_inputs, **call_kwargs)
    if randomize_weights:
        generator = np.random.default_rng(seed)
        keras_layer.set_weights([generator.standard_normal(w.shape).astype(w.dtype) * 0.5
                                 if np.issubdtype(w.dtype, np.floating) else w for w in keras_layer.get_weights()])
    weights = keras_layer.get_weights()  # before the next call: stateful layers (BatchNorm) update them
    expected = keras_layer(keras_inputs, **call_kwargs)
    lamina_layer(inputs, **call_kwargs)
    lamina_layer.set_weights(weights)
    actual = lamina_layer(inputs, **call_kwargs)
    what = f"{class_name}({kwargs}) {call_kwargs}"
    assert_close(actual, expected, tolerance, what)
    if check_config:
        assert set(lamina_layer.get_config()) == set(keras_layer.get_config()), \
            f"{what}: config keys differ: lamina-only {set(lamina_layer.get_config()) - set(keras_layer.get_config())}, " \
            f"Keras-only {set(keras_layer.get_config()) - set(lamina_layer.get_config())}"
    return lamina_layer, keras_layer, actual
