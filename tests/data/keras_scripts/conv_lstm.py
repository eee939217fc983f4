"""Keras example "Next-frame video prediction with Convolutional LSTMs": the ConvLSTM2D stack."""

import json

import keras
import numpy as np
from keras import layers

inp = layers.Input(shape=(None, 64, 64, 1))
x = layers.ConvLSTM2D(filters=64, kernel_size=(5, 5), padding="same", return_sequences=True, activation="relu")(inp)
x = layers.BatchNormalization()(x)
x = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid", padding="same")(x)
model = keras.models.Model(inp, x)
model.summary()
# On blank frames every gate sees only its zero bias: the ConvLSTM state stays 0 and the sigmoid head gives 0.5.
frames = model(np.zeros((1, 2, 64, 64, 1), "float32"))
print("RESULT", json.dumps({"layers": [type(layer).__name__ for layer in model.layers],
                            "output_shape": list(model.output.shape), "params": model.count_params(),
                            "weights": [[w.name, w.trainable] for w in model.weights],
                            "layouts": [list(array.shape) for array in model.get_weights()],
                            "frames": list(frames.shape),
                            "blank": round(float(keras.ops.convert_to_numpy(frames).mean()), 3)}))
