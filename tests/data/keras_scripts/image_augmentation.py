"""Keras example "Image classification from scratch": the data augmentation block."""

import json

import keras
import numpy as np
from keras import layers

data_augmentation_layers = [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)]


def data_augmentation(images):
    for layer in data_augmentation_layers:
        images = layer(images)
    return images


inputs = keras.Input(shape=(180, 180, 3))
x = data_augmentation(inputs)
x = layers.Rescaling(1.0 / 255)(x)
print(keras.Model(inputs, x)(np.zeros((1, 180, 180, 3))).shape)
model = keras.Model(inputs, x)
# A uniform image stays uniform under a flip and a rotation (reflected fill), training or not.
white = np.full((2, 180, 180, 3), 255.0, "float32")
inferred, augmented = model(white), model(white, training=True)
print("RESULT", json.dumps({"layers": [type(layer).__name__ for layer in model.layers],
                            "output_shape": list(model.output.shape), "params": model.count_params(),
                            "inference": list(inferred.shape), "training": list(augmented.shape),
                            "inference_mean": round(float(keras.ops.convert_to_numpy(inferred).mean()), 3),
                            "training_mean": round(float(keras.ops.convert_to_numpy(augmented).mean()), 3),
                            "dtype": keras.backend.standardize_dtype(inferred.dtype)}))
