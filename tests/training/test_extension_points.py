"""Keras's training extension points: train_step, test_step, compute_loss, compute_metrics, metrics.

The model classes are Keras's torch-backend guide code ("Customizing what happens in fit() with
PyTorch"), written once and run on both libraries with the same starting weights: History and
weights after fit must match Keras 3.
"""

import numpy as np
import pytest
import torch

import lamina
from fit_reference import guide_custom_model
from keras_reference import assert_close


def _guide_lower_level_model(lib):
    class CustomModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = lib.metrics.Mean(name="loss")
            self.mae_metric = lib.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = lib.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    return CustomModel


def _guide_sample_weight_model(lib):
    class CustomModel(lib.Model):
        def train_step(self, data):
            if len(data) == 3:
                x, y, sample_weight = data
            else:
                sample_weight = None
                x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred, sample_weight=sample_weight)
            return {m.name: m.result() for m in self.metrics}

    return CustomModel


def _guide_test_step_model(lib):
    class CustomModel(lib.Model):
        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    return CustomModel


def _functional(lib, model_class, units=1):
    inputs = lib.Input(shape=(8,))
    hidden = lib.layers.Dense(6, activation="tanh")(inputs)
    return model_class(inputs, lib.layers.Dense(units)(hidden))


@pytest.fixture
def regression(rng):
    x = rng.random((60, 8)).astype("float32")
    return x, rng.random((60, 1)).astype("float32"), rng.random((60, 1)).astype("float32")


def _pair(keras, factory, **kwargs):
    keras_model = _functional(keras, factory(keras), **kwargs)
    lamina_model = _functional(lamina, factory(lamina), **kwargs)
    lamina_model.set_weights(keras_model.get_weights())
    return keras_model, lamina_model


def _fit_both(keras, models, compile_kwargs, **fit_kwargs):
    histories = []
    for model, lib in zip(models, (keras, lamina)):
        model.compile(**compile_kwargs(lib))
        histories.append(model.fit(verbose=0, shuffle=False, **fit_kwargs).history)
    expected, actual = histories
    assert set(actual) == set(expected)
    for key in expected:
        assert_close(np.array(actual[key]), np.array(expected[key]), 2e-5, f"history[{key!r}]")
    assert_close(models[1].get_weights(), models[0].get_weights(), 2e-5, "weights after fit")
    return actual


def test_a_subclass_called_the_functional_way_is_functional_and_keeps_its_methods():
    model = _functional(lamina, guide_custom_model(lamina))
    assert isinstance(model, lamina.models.Functional) and type(model).__name__ == "CustomModel"
    assert type(model).train_step is not lamina.Model.train_step
    assert [layer.name for layer in model.layers][1:] == [model.layers[1].name, model.layers[2].name]
    assert model.output_shape == (None, 1)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_guide_train_step_matches_keras(keras, regression, optimizer):
    x, y, _ = regression
    history = _fit_both(keras, _pair(keras, guide_custom_model),
                        lambda lib: dict(optimizer=optimizer, loss="mse", metrics=["mae"]),
                        x=x, y=y, batch_size=16, epochs=3)
    assert set(history) == {"loss", "mae"}


def test_guide_lower_level_train_step_with_own_metrics_matches_keras(keras, regression):
    x, y, _ = regression
    _fit_both(keras, _pair(keras, _guide_lower_level_model), lambda lib: dict(optimizer="adam"),
              x=x, y=y, batch_size=16, epochs=3)


def test_guide_sample_weight_train_step_matches_keras(keras, regression):
    x, y, weights = regression
    _fit_both(keras, _pair(keras, _guide_sample_weight_model),
              lambda lib: dict(optimizer=lib.optimizers.SGD(0.1), loss="mse", metrics=["mae"]),
              x=x, y=y, sample_weight=weights, batch_size=16, epochs=2)


def test_guide_test_step_matches_keras(keras, regression):
    x, y, _ = regression
    keras_model, lamina_model = _pair(keras, _guide_test_step_model)
    results = []
    for model in (keras_model, lamina_model):
        model.compile(loss="mse", metrics=["mae"])
        results.append(model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True))
    assert set(results[1]) == set(results[0])
    for key in results[0]:
        assert_close(results[1][key], results[0][key], 1e-5, key)


def test_custom_train_step_logs_reach_callbacks_and_stop_training(regression):
    x, y, _ = regression
    seen = []

    class Stop(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(dict(logs))
            if batch == 1:
                self.model.stop_training = True

    model = _functional(lamina, guide_custom_model(lamina))
    model.compile("sgd", "mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=10, epochs=5, verbose=0, callbacks=[Stop()])
    assert len(seen) == 2 and set(seen[0]) == {"loss", "mae"} and all(isinstance(v, float) for v in seen[0].values())
    assert len(history.history["loss"]) == 1


def _compute_loss_model(lib):
    class MyModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = lib.metrics.Mean(name="loss")

        def compute_loss(self, x, y, y_pred, sample_weight, training=True):
            loss = torch.mean((y_pred - y) ** 2) + 0.5 * torch.mean(torch.abs(y_pred))
            self.loss_tracker.update_state(loss)
            return loss

        def reset_metrics(self):
            self.loss_tracker.reset_state()

        @property
        def metrics(self):
            return [self.loss_tracker]

    return MyModel


def test_compute_loss_override_matches_keras(keras, regression):
    x, y, _ = regression
    history = _fit_both(keras, _pair(keras, _compute_loss_model), lambda lib: dict(optimizer="sgd", loss="mse"),
                        x=x, y=y, batch_size=16, epochs=3)
    assert set(history) == {"loss"}


def _compute_metrics_model(lib):
    class MyModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.largest = lib.metrics.Mean(name="mean_abs_prediction")

        def compute_metrics(self, x, y, y_pred, sample_weight):
            results = super().compute_metrics(x, y, y_pred, sample_weight)
            self.largest.update_state(torch.abs(y_pred))
            results["mean_abs_prediction"] = self.largest.result()
            return results

    return MyModel


def test_compute_metrics_override_matches_keras(keras, regression):
    x, y, _ = regression
    history = _fit_both(keras, _pair(keras, _compute_metrics_model),
                        lambda lib: dict(optimizer="sgd", loss="mse", metrics=["mae"]),
                        x=x, y=y, batch_size=16, epochs=3, validation_data=(x[:20], y[:20]))
    assert {"mean_abs_prediction", "val_mean_abs_prediction", "mae", "val_mae"} <= set(history)


def test_tracked_metrics_are_listed_and_reset_each_epoch(regression):
    x, y, _ = regression

    class Tracking(lamina.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.batches = lamina.metrics.Sum(name="batches")

        def train_step(self, data):
            logs = super().train_step(data)
            self.batches.update_state(1.0)
            logs["batches"] = self.batches.result()
            return logs

    model = _functional(lamina, Tracking)
    model.compile("sgd", "mse")
    history = model.fit(x, y, batch_size=20, epochs=3, verbose=0)
    assert model.metrics_names == ["loss", "batches"]
    assert history.history["batches"] == [3.0, 3.0, 3.0]


def _vae_like(lib):
    class Sampling(lib.layers.Layer):
        def call(self, inputs):
            mean, log_var = inputs
            self.add_loss(-0.5 * torch.mean(1 + log_var - mean ** 2 - torch.exp(log_var)))
            return mean

    class Autoencoder(lib.Model):
        def __init__(self):
            super().__init__()
            self.mean = lib.layers.Dense(2)
            self.log_var = lib.layers.Dense(2)
            self.sampling = Sampling()
            self.decoder = lib.layers.Dense(8)

        def call(self, x):
            z = self.sampling([self.mean(x), self.log_var(x)])
            reconstruction = self.decoder(z)
            self.add_loss(torch.mean((reconstruction - x) ** 2))
            return reconstruction

    return Autoencoder()


def test_add_loss_with_compile_loss_none_and_fit_without_targets_matches_keras(keras, regression):
    x, _, _ = regression
    keras_model, lamina_model = _vae_like(keras), _vae_like(lamina)
    keras_model(x[:2])
    lamina_model(x[:2])
    lamina_model.set_weights(keras_model.get_weights())
    histories = []
    for model in (keras_model, lamina_model):
        model.compile(optimizer="sgd")
        histories.append(model.fit(x, batch_size=20, epochs=3, verbose=0, shuffle=False).history)
    assert_close(np.array(histories[1]["loss"]), np.array(histories[0]["loss"]), 2e-5, "loss")
    assert_close(lamina_model.get_weights(), keras_model.get_weights(), 2e-5, "weights")
    assert len(lamina_model.losses) == 2  # the losses of the latest call: the KL term and the reconstruction


def _gan(lib, latent):
    class GAN(lib.Model):
        def __init__(self, discriminator, generator):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator
            self.d_loss_tracker = lib.metrics.Mean(name="d_loss")
            self.g_loss_tracker = lib.metrics.Mean(name="g_loss")
            self.built = True

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer
            self.loss_fn = loss_fn

        def train_step(self, real_images):
            if isinstance(real_images, tuple):
                real_images = real_images[0]
            batch_size = real_images.shape[0]
            random_latent_vectors = latent[:batch_size]
            generated_images = self.generator(random_latent_vectors)
            combined_images = torch.concat([generated_images, real_images], axis=0)
            labels = torch.concat([torch.ones((batch_size, 1)), torch.zeros((batch_size, 1))], axis=0)
            self.zero_grad()
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
            d_loss.backward()
            grads = [v.value.grad for v in self.discriminator.trainable_weights]
            with torch.no_grad():
                self.d_optimizer.apply(grads, self.discriminator.trainable_weights)
            misleading_labels = torch.zeros((batch_size, 1))
            self.zero_grad()
            predictions = self.discriminator(self.generator(latent[batch_size:2 * batch_size]))
            g_loss = self.loss_fn(misleading_labels, predictions)
            g_loss.backward()
            grads = [v.value.grad for v in self.generator.trainable_weights]
            with torch.no_grad():
                self.g_optimizer.apply(grads, self.generator.trainable_weights)
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    discriminator = lib.Sequential([lib.Input((6,)), lib.layers.Dense(4, activation="relu"), lib.layers.Dense(1)],
                                   name="discriminator")
    generator = lib.Sequential([lib.Input((3,)), lib.layers.Dense(6, activation="tanh")], name="generator")
    gan = GAN(discriminator, generator)
    gan.compile(d_optimizer=lib.optimizers.Adam(0.01), g_optimizer=lib.optimizers.SGD(0.05),
                loss_fn=lib.losses.BinaryCrossentropy(from_logits=True))
    return gan


def test_gan_with_two_optimizers_matches_keras(keras, rng):
    images = rng.random((40, 6)).astype("float32")
    latent = torch.from_numpy(rng.standard_normal((20, 3)).astype("float32"))
    keras_gan, lamina_gan = _gan(keras, latent), _gan(lamina, latent)
    for part in ("discriminator", "generator"):
        getattr(lamina_gan, part).set_weights(getattr(keras_gan, part).get_weights())
    histories = [gan.fit(images, batch_size=10, epochs=2, verbose=0, shuffle=False).history
                 for gan in (keras_gan, lamina_gan)]
    for key in ("d_loss", "g_loss"):
        assert_close(np.array(histories[1][key]), np.array(histories[0][key]), 2e-5, key)
    for part in ("discriminator", "generator"):
        assert_close(getattr(lamina_gan, part).get_weights(), getattr(keras_gan, part).get_weights(), 2e-5, part)


def test_fit_follows_the_model_device_between_fits(regression, monkeypatch):
    x, y, _ = regression
    model = _functional(lamina, lamina.Model)
    model.compile("sgd", "mse")
    moved_to = []
    real_move = lamina.training.data.move
    monkeypatch.setattr(lamina.training.data, "move", lambda data, device: moved_to.append(device) or
                        real_move(data, device))
    model.fit(x, y, epochs=1, batch_size=60, verbose=0)
    monkeypatch.setattr(type(model), "_device", lambda self: torch.device("meta"))
    with pytest.raises(Exception):
        model.fit(x, y, epochs=1, batch_size=60, verbose=0)
    assert moved_to == [torch.device("cpu"), torch.device("meta")]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_moves_batches_after_model_to_cuda(regression):
    x, y, _ = regression
    model = _functional(lamina, lamina.Model)
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    model.to("cuda")
    history = model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and model.weights[0].device.type == "cuda"


def test_subclass_functional_model_round_trips_through_its_config(regression):
    x, y, _ = regression
    CustomModel = lamina.saving.register_keras_serializable(package="tests")(guide_custom_model(lamina))
    model = _functional(lamina, CustomModel)
    config = lamina.layers.serialize(model)
    assert config["class_name"] == "CustomModel" and config["registered_name"] == "tests>CustomModel"
    restored = lamina.layers.deserialize(config)
    assert isinstance(restored, CustomModel) and isinstance(restored, lamina.models.Functional)
    restored.set_weights(model.get_weights())
    assert_close(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    restored.compile("sgd", "mse", metrics=["mae"])
    assert set(restored.fit(x, y, epochs=1, verbose=0).history) == {"loss", "mae"}
