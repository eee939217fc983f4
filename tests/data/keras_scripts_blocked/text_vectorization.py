"""Keras example "Text classification from scratch": the TextVectorization layer."""

import keras
from keras import layers

vectorize_layer = layers.TextVectorization(max_tokens=20000, output_mode="int", output_sequence_length=500)
vectorize_layer.adapt(["the movie was great", "the movie was terrible"])
print(vectorize_layer(["a great movie"]))
