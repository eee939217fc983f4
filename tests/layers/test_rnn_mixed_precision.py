"""Recurrent layers under a mixed policy on CPU: oneDNN has no half LSTM primitive, so the fused kernels run
outside CPU autocast, in the float32 weights (they used to fail with "could not create a primitive
descriptor"). The results equal the float32 policy's for the same weights."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

RECURRENT = {"lstm": lambda: layers.LSTM(4), "gru": lambda: layers.GRU(4), "simple_rnn": lambda: layers.SimpleRNN(4),
             "bidirectional": lambda: layers.Bidirectional(layers.LSTM(4)),
             "sequences": lambda: layers.LSTM(4, return_sequences=True)}


def _model(kind, policy):
    lamina.mixed_precision.set_global_policy(policy)
    try:
        model = lamina.Sequential([layers.Input((5, 3)), RECURRENT[kind](), layers.Dense(1, dtype="float32")])
        model.compile("adam", "mse")
        return model
    finally:
        lamina.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("kind", sorted(RECURRENT))
def test_fused_recurrent_kernels_run_under_a_mixed_policy_in_float32(policy, kind):
    x = np.random.default_rng(0).standard_normal((6, 5, 3)).astype("float32")
    mixed, reference = _model(kind, policy), _model(kind, "float32")
    reference.set_weights(mixed.get_weights())
    inputs = torch.from_numpy(x)
    with torch.no_grad():
        np.testing.assert_array_equal(mixed.layers[0](inputs).float().numpy(), reference.layers[0](inputs).numpy())
    targets = np.ones(tuple(mixed(inputs).shape), "float32")
    loss = mixed.fit(x, targets, batch_size=3, epochs=2, verbose=0).history["loss"]
    assert np.all(np.isfinite(loss))
    assert np.all(np.isfinite(mixed.predict(x, verbose=0)))
