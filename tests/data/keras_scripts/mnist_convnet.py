"""Keras example "Simple MNIST convnet" (keras-io examples/vision), with random arrays shaped like MNIST."""

import json

import keras
import numpy as np
from keras import layers

num_classes = 10
input_shape = (28, 28, 1)

rng = np.random.default_rng(0)  # instead of keras.datasets.mnist.load_data()
x_train, y_train = rng.integers(0, 256, (256, 28, 28), dtype="uint8"), rng.integers(0, 10, 256)
x_test, y_test = rng.integers(0, 256, (64, 28, 28), dtype="uint8"), rng.integers(0, 10, 64)

x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=128, epochs=2, validation_split=0.1, verbose=2)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
print("RESULT", json.dumps({"history": {k: len(v) for k, v in history.history.items()},
                            "params": model.count_params(), "evaluate": len(score),
                            "output_shape": list(model.predict(x_test[:4], verbose=0).shape)}))
