"""Keras example "Timeseries forecasting for weather prediction" (keras-io examples/timeseries), with synthetic
hourly features instead of the Jena climate CSV; the .weights.h5 checkpoint is left out (lamina writes Keras
weight files once the Keras-files work lands)."""

import json

import keras
import numpy as np

rng = np.random.default_rng(11)
hours = np.arange(900)
features = np.stack([np.sin(hours / 24 * 2 * np.pi) + rng.normal(0, 0.1, hours.shape) for _ in range(7)], axis=1)
split_fraction = 0.715
train_split = int(split_fraction * int(features.shape[0]))
step = 6
past = 72
future = 12
learning_rate = 0.001
batch_size = 64
epochs = 2


def normalize(data, train_split):
    data_mean = data[:train_split].mean(axis=0)
    data_std = data[:train_split].std(axis=0)
    return (data - data_mean) / data_std


features = normalize(features, train_split)
train_data = features[0 : train_split - 1]
val_data = features[train_split:]

start = past + future
end = start + train_split
x_train = train_data
y_train = features[start:end][:, [1]]
sequence_length = int(past / step)

dataset_train = keras.preprocessing.timeseries_dataset_from_array(
    x_train, y_train, sequence_length=sequence_length, sampling_rate=step, batch_size=batch_size)

x_end = len(val_data) - past - future
label_start = train_split + past + future
x_val = val_data[:x_end]
y_val = features[label_start:][:, [1]]
dataset_val = keras.preprocessing.timeseries_dataset_from_array(
    x_val, y_val, sequence_length=sequence_length, sampling_rate=step, batch_size=batch_size)

for batch in dataset_train.take(1):
    inputs, targets = batch
print("Input shape:", inputs.numpy().shape)
print("Target shape:", targets.numpy().shape)

inputs = keras.layers.Input(shape=(inputs.shape[1], inputs.shape[2]))
lstm_out = keras.layers.LSTM(32)(inputs)
outputs = keras.layers.Dense(1)(lstm_out)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
model.summary()

es_callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5)
history = model.fit(dataset_train, epochs=epochs, validation_data=dataset_val, callbacks=[es_callback], verbose=2)
for x, y in dataset_val.take(1):
    prediction = model.predict(x, verbose=0)
print("RESULT", json.dumps({"history": {k: len(v) for k, v in history.history.items()},
                            "batches": len(list(dataset_train)), "prediction": list(prediction.shape)}))
