"""Recurrent models trained by fit against Keras 3 (torch backend): same weights and data => same
History and weights after training. Covers lamina's own GRU backward pass (unmasked, masked,
bidirectional) and the fused LSTM."""

import numpy as np
import pytest

import lamina
from keras_reference import assert_close

TIME, FEATURES, VOCAB = 7, 3, 9


def _model(lib, architecture):
    layers = lib.layers
    if architecture == "gru":
        body = [lib.Input((TIME, FEATURES)), layers.GRU(5, return_sequences=True), layers.GRU(4)]
    elif architecture == "masked_gru":
        body = [lib.Input((TIME,), dtype="int64"), layers.Embedding(VOCAB, FEATURES, mask_zero=True),
                layers.GRU(4, go_backwards=True)]
    elif architecture == "bidirectional_gru":
        body = [lib.Input((TIME, FEATURES)), layers.Bidirectional(layers.GRU(4), merge_mode="sum")]
    else:
        body = [lib.Input((TIME, FEATURES)), layers.LSTM(4)]
    return lib.Sequential([*body, layers.Dense(1)])


@pytest.mark.parametrize("architecture", ["gru", "masked_gru", "bidirectional_gru", "lstm"])
def test_recurrent_fit_matches_keras(keras, rng, architecture):
    if architecture == "masked_gru":
        lengths = rng.integers(1, TIME + 1, 24)
        x = rng.integers(1, VOCAB, (24, TIME)) * (np.arange(TIME) < lengths[:, None])
    else:
        x = rng.standard_normal((24, TIME, FEATURES)).astype("float32")
    y = rng.standard_normal((24, 1)).astype("float32")
    keras_model, lamina_model = _model(keras, architecture), _model(lamina, architecture)
    keras_model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5 for w in keras_model.get_weights()])
    lamina_model.set_weights(keras_model.get_weights())
    for model, lib in ((keras_model, keras), (lamina_model, lamina)):
        model.compile(optimizer=lib.optimizers.SGD(0.05, momentum=0.9), loss="mse")
    expected = keras_model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    actual = lamina_model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    assert_close(np.array(actual["loss"]), np.array(expected["loss"]), 2e-5, "history['loss']")
    assert_close(lamina_model.get_weights(), keras_model.get_weights(), 2e-5, "weights after fit")
