"""Keras example "Timeseries anomaly detection using an Autoencoder" (keras-io examples/timeseries), with a
synthetic daily sine instead of the NAB data."""

import json

import keras
import numpy as np
from keras import layers

steps = np.arange(320)
df_small_noise = 20 + np.sin(steps * 2 * np.pi / 64) + np.random.default_rng(3).normal(0, 0.1, steps.shape)
df_daily_jumpsup = df_small_noise.copy()
df_daily_jumpsup[500:520] += 10

training_mean = df_small_noise.mean()
training_std = df_small_noise.std()
df_training_value = ((df_small_noise - training_mean) / training_std)[:, None]
print("Number of training samples:", len(df_training_value))

TIME_STEPS = 32


def create_sequences(values, time_steps=TIME_STEPS):
    output = []
    for i in range(len(values) - time_steps + 1):
        output.append(values[i : (i + time_steps)])
    return np.stack(output)


x_train = create_sequences(df_training_value)
print("Training input shape: ", x_train.shape)

model = keras.Sequential(
    [
        layers.Input(shape=(x_train.shape[1], x_train.shape[2])),
        layers.Conv1D(filters=32, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Dropout(rate=0.2),
        layers.Conv1D(filters=16, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Conv1DTranspose(filters=16, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Dropout(rate=0.2),
        layers.Conv1DTranspose(filters=32, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Conv1DTranspose(filters=1, kernel_size=7, padding="same"),
    ]
)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="mse")
model.summary()

history = model.fit(x_train, x_train, epochs=3, batch_size=128, validation_split=0.1, verbose=2,
                    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, mode="min")])

x_train_pred = model.predict(x_train, verbose=0)
train_mae_loss = np.mean(np.abs(x_train_pred - x_train), axis=1)
threshold = np.max(train_mae_loss)
print("Reconstruction error threshold: ", threshold)

df_test_value = ((df_daily_jumpsup - training_mean) / training_std)[:, None]
x_test = create_sequences(df_test_value)
x_test_pred = model.predict(x_test, verbose=0)
test_mae_loss = np.mean(np.abs(x_test_pred - x_test), axis=1).reshape((-1))
anomalies = test_mae_loss > threshold
print("Number of anomaly samples: ", np.sum(anomalies))
print("RESULT", json.dumps({"history": {k: len(v) for k, v in history.history.items()},
                            "prediction": list(x_test_pred.shape), "params": model.count_params()}))
