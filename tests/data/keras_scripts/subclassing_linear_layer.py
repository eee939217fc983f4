"""Keras guide "Making new layers and models via subclassing": the Linear layer, written with keras.ops."""

import json

import keras
import numpy as np
from keras import ops


class Linear(keras.layers.Layer):
    def __init__(self, units=32, input_dim=32):
        super().__init__()
        self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


x = np.ones((2, 2))
linear_layer = Linear(4, 2)
y = linear_layer(x)
print(y)
y = ops.convert_to_numpy(y)
print("RESULT", json.dumps({"shape": list(y.shape), "dtype": str(y.dtype),
                            "weights": [list(w.shape) for w in linear_layer.weights],
                            "trainable": len(linear_layer.trainable_weights), "params": linear_layer.count_params(),
                            "rows_equal": bool(np.array_equal(y[0], y[1]))}))
