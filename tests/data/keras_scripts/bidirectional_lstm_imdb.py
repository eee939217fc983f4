"""Keras example "Bidirectional LSTM on IMDB" (keras-io examples/nlp), with random word-index sequences."""

import json

import keras
import numpy as np
from keras import layers

max_features = 2000  # Only consider the top 2k words
maxlen = 20  # Only consider the first 20 words of each review

inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(max_features, 32)(inputs)
x = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(16))(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.summary()

rng = np.random.default_rng(1)  # instead of keras.datasets.imdb.load_data(num_words=max_features)
x_train = [list(rng.integers(1, max_features, rng.integers(5, 40))) for _ in range(64)]
y_train = rng.integers(0, 2, 64)
x_val = [list(rng.integers(1, max_features, rng.integers(5, 40))) for _ in range(16)]
y_val = rng.integers(0, 2, 16)
print(len(x_train), "Training sequences")
print(len(x_val), "Validation sequences")
x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val), verbose=2)
print("RESULT", json.dumps({"history": {k: len(v) for k, v in history.history.items()},
                            "params": model.count_params(), "padded": list(x_train.shape)}))
