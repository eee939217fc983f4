"""Keras guide "Working with preprocessing layers": adapting a Normalization layer."""

import json

import keras
import numpy as np
from keras import layers

training_data = np.random.random((100, 4)).astype("float32")
normalizer = layers.Normalization()
normalizer.adapt(training_data)
print(normalizer(training_data).numpy().mean(axis=0))
normalized = keras.ops.convert_to_numpy(normalizer(training_data))
print("RESULT", json.dumps({"shape": list(normalized.shape), "mean_shape": list(normalizer.mean.shape),
                            "variance_shape": list(normalizer.variance.shape),
                            "dtype": keras.backend.standardize_dtype(normalizer(training_data).dtype),
                            "means": [round(float(v), 3) + 0.0 for v in normalized.mean(axis=0)],
                            "stds": [round(float(v), 3) for v in normalized.std(axis=0)]}))
