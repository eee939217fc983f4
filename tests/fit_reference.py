"""Training by fit against Keras 3 (torch backend): the same model, weights, data and optimizer in both
libraries give the same History and weights."""

import numpy as np
import torch

import lamina
from keras_reference import assert_close


def assert_fit_matches_keras(keras, keras_model, lamina_model, x, y, make_optimizer, loss="mse", tolerance=2e-5,
                             batch_size=4, epochs=3):
    """Compiles both models (``make_optimizer(library)`` for each), fits them without shuffling and
    compares ``history["loss"]`` and the weights after training. The caller sets equal weights first."""
    for model, library in ((keras_model, keras), (lamina_model, lamina)):
        model.compile(optimizer=make_optimizer(library), loss=loss)
    fit = dict(batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    expected = keras_model.fit(x, y, **fit).history
    actual = lamina_model.fit(x, y, **fit).history
    assert_close(np.array(actual["loss"]), np.array(expected["loss"]), tolerance, "history['loss']")
    assert_close(lamina_model.get_weights(), keras_model.get_weights(), tolerance, "weights after fit")


def guide_custom_model(lib):
    """Keras's torch-backend guide model ("Customizing what happens in fit() with PyTorch"): its train_step
    calls ``loss.backward()`` and reads each weight's ``.grad``."""
    class CustomModel(lib.Model):
        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    return CustomModel
