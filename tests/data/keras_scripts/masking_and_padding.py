"""Keras guide "Understanding masking & padding": padding sequences, and masks from Embedding and Masking."""

import json

import keras
import numpy as np
from keras import layers

raw_inputs = [
    [711, 632, 71],
    [73, 8, 3215, 55, 927],
    [83, 91, 1, 645, 1253, 927],
]
padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
print(padded_inputs)

embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
masked_output = embedding(padded_inputs)
print(masked_output._keras_mask)

masking_layer = layers.Masking()
unmasked_embedding = np.random.random((3, 6, 32)).astype("float32")
unmasked_embedding[0, 3:] = 0.0  # the padded steps of the first sequence
masked_embedding = masking_layer(unmasked_embedding)
print(masked_embedding._keras_mask)

model = keras.Sequential([layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True), layers.LSTM(32)])
inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
outputs = layers.LSTM(32)(x)
functional = keras.Model(inputs, outputs)

lstm = layers.LSTM(32, return_sequences=True)
sequences = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(padded_inputs)
mask = sequences._keras_mask
result = lstm(sequences, mask=mask)
print("RESULT", json.dumps({"padded": padded_inputs.tolist(),
                            "embedding_mask": np.asarray(masked_output._keras_mask).tolist(),
                            "masking_mask": np.asarray(masked_embedding._keras_mask).tolist(),
                            "lstm": list(model(padded_inputs).shape), "functional": list(functional(padded_inputs).shape),
                            "sequences": list(result.shape)}))
