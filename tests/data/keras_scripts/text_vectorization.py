"""Keras example "Text classification from scratch": the TextVectorization layer."""

import json

import keras
from keras import layers

vectorize_layer = layers.TextVectorization(max_tokens=20000, output_mode="int", output_sequence_length=500)
vectorize_layer.adapt(["the movie was great", "the movie was terrible"])
print(vectorize_layer(["a great movie"]))
vectorized = keras.ops.convert_to_numpy(vectorize_layer(["a great movie", "the movie was terrible"]))
print("RESULT", json.dumps({"vocabulary": vectorize_layer.get_vocabulary(),
                            "vocabulary_size": vectorize_layer.vocabulary_size(), "shape": list(vectorized.shape),
                            "dtype": str(vectorized.dtype), "tokens": vectorized[:, :6].tolist(),
                            "padding": int((vectorized == 0).sum())}))
