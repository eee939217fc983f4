"""Keras example "Next-frame video prediction with Convolutional LSTMs": the ConvLSTM2D stack."""

import keras
from keras import layers

inp = layers.Input(shape=(None, 64, 64, 1))
x = layers.ConvLSTM2D(filters=64, kernel_size=(5, 5), padding="same", return_sequences=True, activation="relu")(inp)
x = layers.BatchNormalization()(x)
x = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid", padding="same")(x)
model = keras.models.Model(inp, x)
model.summary()
