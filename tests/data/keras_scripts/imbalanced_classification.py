"""Keras example "Imbalanced classification: credit card fraud detection" (keras-io examples/structured_data),
with random features; the example's per-epoch .keras checkpoints are left out (lamina writes .keras files
once the Keras-files work lands)."""

import json

import keras
import numpy as np

rng = np.random.default_rng(5)  # instead of the Kaggle creditcard.csv
features = rng.standard_normal((1000, 30)).astype("float32")
targets = (rng.uniform(size=(1000, 1)) < 0.1).astype("uint8")
print("features.shape:", features.shape)
print("targets.shape:", targets.shape)

num_val_samples = int(len(features) * 0.2)
train_features = features[:-num_val_samples]
train_targets = targets[:-num_val_samples]
val_features = features[-num_val_samples:]
val_targets = targets[-num_val_samples:]

counts = np.bincount(train_targets[:, 0])
print("Number of positive samples in training data: {} ({:.2f}% of total)".format(
    counts[1], 100 * float(counts[1]) / len(train_targets)))
weight_for_0 = 1.0 / counts[0]
weight_for_1 = 1.0 / counts[1]

mean = np.mean(train_features, axis=0)
train_features -= mean
val_features -= mean
std = np.std(train_features, axis=0)
train_features /= std
val_features /= std

model = keras.Sequential(
    [
        keras.Input(shape=train_features.shape[1:]),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
model.summary()

metrics = [
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
]
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics)
class_weight = {0: weight_for_0, 1: weight_for_1}
history = model.fit(train_features, train_targets, batch_size=256, epochs=2, verbose=2,
                    validation_data=(val_features, val_targets), class_weight=class_weight)
counts_sum = history.history["tp"][-1] + history.history["fp"][-1] + history.history["tn"][-1] + \
    history.history["fn"][-1]
print("RESULT", json.dumps({"history": sorted(history.history), "counted": counts_sum,
                            "epochs": len(history.history["loss"])}))
