"""Keras's "image data loading" usage: image_dataset_from_directory over class folders (here written with random
pictures first), a validation subset, a small CNN trained on the datasets."""

import json
import os
import tempfile

import keras
import numpy as np
from keras import layers

root = tempfile.mkdtemp()
rng = np.random.default_rng(7)
for class_name in ("cat", "dog"):
    os.makedirs(os.path.join(root, class_name))
    for index in range(12):
        pixels = rng.integers(0, 256, (int(rng.integers(40, 60)), int(rng.integers(40, 60)), 3))
        keras.utils.save_img(os.path.join(root, class_name, f"{index}.png"), pixels, scale=False)

image_size = (32, 32)
batch_size = 8
train_ds, val_ds = keras.utils.image_dataset_from_directory(
    root, validation_split=0.25, subset="both", seed=1337, image_size=image_size, batch_size=batch_size)
print(train_ds.class_names)
for images, labels in train_ds.take(1):
    first_batch = (list(images.shape), list(labels.shape))

inputs = keras.Input(shape=image_size + (3,))
x = layers.Lambda(lambda t: t / 255.0)(inputs)
x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
x = layers.SeparableConv2D(32, 3, padding="same", activation="relu")(x)
x = layers.BatchNormalization()(x)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(1, activation=None)(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.Adam(3e-4), loss=keras.losses.BinaryCrossentropy(from_logits=True),
              metrics=[keras.metrics.BinaryAccuracy(name="acc")])
history = model.fit(train_ds, epochs=2, validation_data=val_ds, verbose=2)

img = keras.utils.load_img(os.path.join(root, "cat", "0.png"), target_size=image_size)
img_array = keras.utils.img_to_array(img)
img_array = np.expand_dims(img_array, 0)
predictions = model.predict(img_array, verbose=0)
score = float(1 / (1 + np.exp(-predictions[0][0])))
print(f"This image is {100 * (1 - score):.2f}% cat and {100 * score:.2f}% dog.")
print("RESULT", json.dumps({"class_names": train_ds.class_names, "first_batch": first_batch,
                            "files": [len(train_ds.file_paths), len(val_ds.file_paths)],
                            "history": {k: len(v) for k, v in history.history.items()}}))
