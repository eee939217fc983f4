"""Keras example "Image classification from scratch": the data augmentation block."""

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
