"""Keras guide "The Functional API": a multi-input, multi-output ticket model, shared layers, a toy ResNet,
and configs, with random arrays."""

import json

import keras
import numpy as np
from keras import layers

num_tags = 12  # Number of unique issue tags
num_words = 1000  # Size of vocabulary obtained when preprocessing text data
num_departments = 4  # Number of departments for predictions

title_input = keras.Input(shape=(None,), name="title")  # Variable-length sequence of ints
body_input = keras.Input(shape=(None,), name="body")  # Variable-length sequence of ints
tags_input = keras.Input(shape=(num_tags,), name="tags")  # Binary vectors of size `num_tags`

title_features = layers.Embedding(num_words, 16)(title_input)
body_features = layers.Embedding(num_words, 16)(body_input)
title_features = layers.LSTM(32)(title_features)
body_features = layers.LSTM(8)(body_features)
x = layers.concatenate([title_features, body_features, tags_input])
priority_pred = layers.Dense(1, name="priority")(x)
department_pred = layers.Dense(num_departments, name="department")(x)

model = keras.Model(inputs=[title_input, body_input, tags_input], outputs={"priority": priority_pred,
                                                                           "department": department_pred})
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={"priority": keras.losses.BinaryCrossentropy(from_logits=True),
          "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
    loss_weights={"priority": 1.0, "department": 0.2},
)

title_data = np.random.randint(num_words, size=(64, 10))
body_data = np.random.randint(num_words, size=(64, 12))
tags_data = np.random.randint(2, size=(64, num_tags)).astype("float32")
priority_targets = np.random.random(size=(64, 1))
dept_targets = np.random.randint(2, size=(64, num_departments))

tickets = model.fit({"title": title_data, "body": body_data, "tags": tags_data},
                    {"priority": priority_targets, "department": dept_targets}, epochs=2, batch_size=32, verbose=2)

# Shared layers: one embedding for two inputs.
shared_embedding = layers.Embedding(1000, 128)
text_input_a = keras.Input(shape=(None,), dtype="int32")
text_input_b = keras.Input(shape=(None,), dtype="int32")
encoded_input_a = shared_embedding(text_input_a)
encoded_input_b = shared_embedding(text_input_b)

# A toy ResNet for CIFAR-10-shaped images.
inputs = keras.Input(shape=(32, 32, 3), name="img")
x = layers.Conv2D(32, 3, activation="relu")(inputs)
x = layers.Conv2D(64, 3, activation="relu")(x)
block_1_output = layers.MaxPooling2D(3)(x)
x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
block_2_output = layers.add([x, block_1_output])
x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
block_3_output = layers.add([x, block_2_output])
x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(256, activation="relu")(x)
x = layers.Dropout(0.5)(x)
outputs = layers.Dense(10)(x)
resnet = keras.Model(inputs, outputs, name="toy_resnet")
resnet.summary()

x_train = np.random.uniform(size=(16, 32, 32, 3)).astype("float32")  # instead of keras.datasets.cifar10
y_train = keras.utils.to_categorical(np.random.randint(0, 10, 16), 10)
resnet.compile(optimizer=keras.optimizers.RMSprop(1e-3),
               loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["acc"])
trained = resnet.fit(x_train, y_train, batch_size=8, epochs=1, validation_split=0.25, verbose=2)

# Models are callable, and configs rebuild them.
config = resnet.get_config()
rebuilt = keras.Model.from_config(config)
print("RESULT", json.dumps({"tickets": sorted(tickets.history), "resnet": sorted(trained.history),
                            "resnet_params": resnet.count_params(), "rebuilt_params": rebuilt.count_params(),
                            "shared": list(encoded_input_a.shape) + list(encoded_input_b.shape),
                            "layers": len(resnet.layers)}))
