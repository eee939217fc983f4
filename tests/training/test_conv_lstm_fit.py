"""A small next-frame video model (Keras's "Next-frame video prediction with Convolutional LSTMs"
example: stacked ConvLSTM2D with BatchNormalization, then a sigmoid Conv3D, binary cross-entropy)
trained by fit against Keras 3 (torch backend): same weights and data => same History and weights."""

import numpy as np

import lamina
from fit_reference import assert_fit_matches_keras
from keras_reference import assert_close

FRAMES, SIZE = 5, 8


def next_frame_model(lib):
    layers = lib.layers
    inputs = lib.Input((None, SIZE, SIZE, 1))
    x = layers.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True, activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(3, (2, 2), padding="same", return_sequences=True, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(3, (1, 1), padding="same", return_sequences=True, activation="relu")(x)
    outputs = layers.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same")(x)
    return lib.Model(inputs, outputs)


def moving_squares(rng, count):
    """Squares drifting by one pixel per frame: x is frames 0..n-2, y frames 1..n-1 (the example's shift)."""
    videos = np.zeros((count, FRAMES, SIZE, SIZE, 1), "float32")
    for video in videos:
        row, col = rng.integers(0, SIZE - 3, 2)
        step = rng.choice([-1, 1], 2)
        for t in range(FRAMES):
            r, c = np.clip([row + step[0] * t, col + step[1] * t], 0, SIZE - 3)
            video[t, r:r + 3, c:c + 3] = 1.0
    return videos[:, :-1], videos[:, 1:]


def test_next_frame_conv_lstm_fit_matches_keras(keras, rng):
    x, y = moving_squares(rng, 8)
    keras_model, lamina_model = next_frame_model(keras), next_frame_model(lamina)
    weights = []
    for variable in keras_model.weights:
        value = rng.standard_normal(tuple(variable.shape)).astype("float32") * 0.3
        weights.append(np.abs(value) + 0.5 if variable.path.endswith("moving_variance") else value)
    keras_model.set_weights(weights)
    lamina_model.set_weights(weights)
    assert_fit_matches_keras(keras, keras_model, lamina_model, x, y,
                             lambda lib: lib.optimizers.SGD(0.1, momentum=0.9), loss="binary_crossentropy")
    assert_close(lamina_model.predict(x, verbose=0), keras_model.predict(x, verbose=0), 2e-5, "predictions")
