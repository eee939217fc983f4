"""The callbacks of Keras's callbacks API pages in one fit: TensorBoard, EarlyStopping, ReduceLROnPlateau,
CSVLogger, BackupAndRestore, TerminateOnNaN, LambdaCallback, LearningRateScheduler, and SwapEMAWeights with an
EMA optimizer."""

import json
import os
import tempfile

import keras
import numpy as np

work = tempfile.mkdtemp()
x = np.random.uniform(size=(200, 10)).astype("float32")
y = (x.sum(axis=1, keepdims=True) > 5).astype("float32")

model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(0.01, use_ema=True), loss="binary_crossentropy",
              metrics=["accuracy", keras.metrics.AUC(name="auc")])
epochs_seen = []
callbacks = [
    keras.callbacks.TensorBoard(log_dir=os.path.join(work, "logs"), histogram_freq=1),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=1e-4),
    keras.callbacks.CSVLogger(os.path.join(work, "training.csv")),
    keras.callbacks.BackupAndRestore(backup_dir=os.path.join(work, "backup")),
    keras.callbacks.TerminateOnNaN(),
    keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch)),
    keras.callbacks.SwapEMAWeights(swap_on_epoch=True),
]
history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.2, callbacks=callbacks, verbose=2)

scheduled = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
model.fit(x, y, epochs=2, batch_size=32, callbacks=[scheduled], verbose=0)
with open(os.path.join(work, "training.csv")) as f:
    header = f.readline().strip().split(",")
print("RESULT", json.dumps({"history": sorted(history.history), "csv": sorted(header), "epochs_seen": epochs_seen,
                            "event_dirs": sorted(os.listdir(os.path.join(work, "logs")))}))
