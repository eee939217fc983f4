"""Keras example "Knowledge Distillation" (keras.io/examples/vision/knowledge_distillation), on Keras 3.15's
keras.distillation API, MNIST replaced by synthetic 28x28 images."""

import json

import keras
import numpy as np
from keras import layers

rng = np.random.default_rng(0)
x_train = rng.uniform(0, 1, (256, 28, 28, 1)).astype("float32")
y_train = rng.integers(0, 10, 256)
x_test, y_test = x_train[:64], y_train[:64]

teacher = keras.Sequential([keras.Input(shape=(28, 28, 1)),
                            layers.Conv2D(32, (3, 3), strides=(2, 2), padding="same"), layers.LeakyReLU(negative_slope=0.2),
                            layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
                            layers.Conv2D(64, (3, 3), strides=(2, 2), padding="same"),
                            layers.Flatten(), layers.Dense(10)], name="teacher")
student = keras.Sequential([keras.Input(shape=(28, 28, 1)),
                            layers.Conv2D(8, (3, 3), strides=(2, 2), padding="same"), layers.LeakyReLU(negative_slope=0.2),
                            layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
                            layers.Conv2D(16, (3, 3), strides=(2, 2), padding="same"),
                            layers.Flatten(), layers.Dense(10)], name="student")

teacher.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=[keras.metrics.SparseCategoricalAccuracy()])
teacher.fit(x_train, y_train, epochs=1, batch_size=64, verbose=0)

distiller = keras.distillation.Distiller(
    teacher=teacher, student=student,
    distillation_losses=keras.distillation.LogitsDistillation(temperature=10, loss=keras.losses.KLDivergence()),
    student_loss_weight=0.1)
distiller.compile(optimizer=keras.optimizers.Adam(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
history = distiller.fit(x_train, y_train, epochs=2, batch_size=64, verbose=0)
evaluation = distiller.evaluate(x_test, y_test, verbose=0, return_dict=True)
predictions = distiller.predict(x_test, verbose=0)
print("RESULT", json.dumps({"history": {key: len(values) for key, values in sorted(history.history.items())},
                            "evaluation": sorted(evaluation), "predictions": list(predictions.shape),
                            "teacher_trainable": teacher.trainable, "student_params": student.count_params(),
                            "teacher_params": teacher.count_params(),
                            "trainable_weights": len(distiller.trainable_weights)}))
