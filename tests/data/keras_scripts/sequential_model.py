"""Keras guide "The Sequential model": building, inspecting, feature extraction and freezing layers."""

import json

import keras
import numpy as np
from keras import layers

model = keras.Sequential(
    [
        layers.Dense(2, activation="relu", name="layer1"),
        layers.Dense(3, activation="relu", name="layer2"),
        layers.Dense(4, name="layer3"),
    ]
)
x = np.ones((3, 3))
y = model(x)
print("layers:", [layer.name for layer in model.layers])

model = keras.Sequential()
model.add(layers.Dense(2, activation="relu"))
model.add(layers.Dense(3, activation="relu"))
model.add(layers.Dense(4))
model.pop()
print(len(model.layers))  # 2

layer = layers.Dense(3)
print(layer.weights)  # Empty
x = np.ones((1, 4))
y = layer(x)
print(layer.weights)  # Now it has weights, of shape (4, 3) and (3,)

model = keras.Sequential()
model.add(keras.Input(shape=(250, 250, 3)))  # 250x250 RGB images
model.add(layers.Conv2D(32, 5, strides=2, activation="relu"))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.MaxPooling2D(3))
model.summary()
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.MaxPooling2D(3))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.MaxPooling2D(2))
model.summary()
model.add(layers.GlobalMaxPooling2D())
model.add(layers.Dense(10))

initial_model = keras.Sequential(
    [
        keras.Input(shape=(250, 250, 3)),
        layers.Conv2D(32, 5, strides=2, activation="relu"),
        layers.Conv2D(32, 3, activation="relu", name="my_intermediate_layer"),
        layers.Conv2D(32, 3, activation="relu"),
    ]
)
feature_extractor = keras.Model(inputs=initial_model.inputs,
                                outputs=[layer.output for layer in initial_model.layers])
features = feature_extractor(np.ones((1, 250, 250, 3)))
intermediate = keras.Model(inputs=initial_model.inputs,
                           outputs=initial_model.get_layer(name="my_intermediate_layer").output)

frozen = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(32, activation="relu"),
                           layers.Dense(32, activation="relu"), layers.Dense(32, activation="relu"),
                           layers.Dense(10)])
for frozen_layer in frozen.layers[:-1]:
    frozen_layer.trainable = False
frozen.compile(optimizer="adam", loss="mse")
frozen.fit(np.random.uniform(size=(32, 784)), np.random.uniform(size=(32, 10)), verbose=0)
print("RESULT", json.dumps({"features": [list(f.shape) for f in features],
                            "intermediate": list(intermediate.output.shape),
                            "output_shape": list(model.output_shape), "params": model.count_params(),
                            "trainable": len(frozen.trainable_weights)}))
