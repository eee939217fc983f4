"""Mixed precision, as Keras's mixed-precision guide does it: a global policy, a float32 softmax at the end."""

import json

import keras
import numpy as np
from keras import layers, mixed_precision

mixed_precision.set_global_policy("mixed_float16")
policy = mixed_precision.global_policy()
print("Compute dtype: %s" % policy.compute_dtype)
print("Variable dtype: %s" % policy.variable_dtype)

inputs = keras.Input(shape=(784,), name="digits")
dense1 = layers.Dense(64, activation="relu", name="dense_1")
x = dense1(inputs)
dense2 = layers.Dense(64, activation="relu", name="dense_2")
x = dense2(x)
print(dense1.dtype_policy)
print("x.dtype: %s" % x.dtype)
x = layers.Dense(10, name="dense_logits")(x)
outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
print("Outputs dtype: %s" % outputs.dtype)

model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])

x_train = np.random.uniform(size=(256, 784)).astype("float32")  # instead of keras.datasets.mnist
y_train = np.random.randint(0, 10, 256)
history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.25, verbose=2)
predictions = model.predict(x_train[:8], verbose=0)
print("RESULT", json.dumps({"policy": policy.name, "kernel_dtype": str(dense1.kernel.dtype).replace("torch.", ""),
                            "compute_dtype": dense1.compute_dtype, "history": sorted(history.history),
                            "predictions": str(predictions.dtype),
                            "loss_scaled": type(model.optimizer).__name__}))
mixed_precision.set_global_policy("float32")
