"""Keras guide "Training & evaluation with the built-in methods": a custom loss function written with keras.ops."""

import keras
import numpy as np
from keras import ops


def custom_mean_squared_error(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
model.compile(optimizer=keras.optimizers.Adam(), loss=custom_mean_squared_error)
y_train_one_hot = keras.utils.to_categorical(np.random.randint(0, 10, 64), num_classes=10)
model.fit(np.random.uniform(size=(64, 784)), y_train_one_hot, batch_size=64, epochs=1)
