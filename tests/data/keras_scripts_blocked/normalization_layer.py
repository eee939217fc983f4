"""Keras guide "Working with preprocessing layers": adapting a Normalization layer."""

import keras
import numpy as np
from keras import layers

training_data = np.random.random((100, 4)).astype("float32")
normalizer = layers.Normalization()
normalizer.adapt(training_data)
print(normalizer(training_data).numpy().mean(axis=0))
