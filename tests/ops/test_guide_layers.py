"""The ops-based code of Keras's guides ("Making new layers and models via subclassing", "Customizing
what happens in fit() with PyTorch"), written once and run unchanged on Keras and lamina (``lib`` is
either): same weights give the same numbers, and the models train."""

import numpy as np
import torch

import lamina
from tests.keras_reference import assert_close


def _guide_layers(lib):
    ops, layers = lib.ops, lib.layers

    class Linear(layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                     trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

    class ComputeSum(layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    class MLPBlock(layers.Layer):
        def __init__(self):
            super().__init__()
            self.linear_1 = Linear(32)
            self.linear_2 = Linear(32)
            self.linear_3 = Linear(1)

        def call(self, inputs):
            x = self.linear_1(inputs)
            x = ops.relu(x)
            x = self.linear_2(x)
            x = ops.relu(x)
            return self.linear_3(x)

    class ActivityRegularizationLayer(layers.Layer):
        def __init__(self, rate=1e-2):
            super().__init__()
            self.rate = rate

        def call(self, inputs):
            self.add_loss(self.rate * ops.mean(inputs))
            return inputs

    class Sampling(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = lib.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch, dim = ops.shape(z_mean)[0], ops.shape(z_mean)[1]
            epsilon = lib.random.normal(shape=(batch, dim), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    class CustomDropout(layers.Layer):
        def __init__(self, rate, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate
            self.seed_generator = lib.random.SeedGenerator(1337)

        def call(self, inputs, training=None):
            if training:
                return lib.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
            return inputs

    return Linear, ComputeSum, MLPBlock, ActivityRegularizationLayer, Sampling, CustomDropout


def _vae(lib, original_dim=12, latent_dim=2):
    ops, layers = lib.ops, lib.layers
    _, _, _, _, Sampling, _ = _guide_layers(lib)

    class VariationalAutoEncoder(lib.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense_proj = layers.Dense(16, activation="relu")
            self.dense_mean = layers.Dense(latent_dim)
            self.dense_log_var = layers.Dense(latent_dim)
            self.sampling = Sampling()
            self.dense_decode = layers.Dense(16, activation="relu")
            self.dense_output = layers.Dense(original_dim, activation="sigmoid")

        def call(self, inputs):
            x = self.dense_proj(inputs)
            z_mean, z_log_var = self.dense_mean(x), self.dense_log_var(x)
            z = self.sampling((z_mean, z_log_var))
            reconstructed = self.dense_output(self.dense_decode(z))
            kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
            self.add_loss(kl_loss)
            return reconstructed

    return VariationalAutoEncoder()


def _random_weights(keras_layer, lamina_layer, x):
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.3 for w in keras_layer.get_weights()]
    keras_layer.set_weights(weights)
    lamina_layer(x)
    lamina_layer.set_weights(weights)


def test_guide_layers_match_keras(keras):
    x = np.random.default_rng(1).normal(size=(4, 6)).astype("float32")
    keras_classes, lamina_classes = _guide_layers(keras), _guide_layers(lamina)
    for index in (0, 2):  # Linear, MLPBlock
        keras_layer = keras_classes[index]() if index else keras_classes[index](5)
        lamina_layer = lamina_classes[index]() if index else lamina_classes[index](5)
        keras_layer(x)
        _random_weights(keras_layer, lamina_layer, x)
        assert_close(lamina_layer(x), keras_layer(x), what=keras_classes[index].__name__)
    keras_sum, lamina_sum = keras_classes[1](6), lamina_classes[1](6)
    for _ in range(2):
        assert_close(lamina_sum(x), keras_sum(x))
    regularizer = lamina_classes[3](0.5)
    regularizer(torch.from_numpy(x))
    assert_close(regularizer.losses[0], 0.5 * x.mean())


def test_guide_sampling_and_dropout_layers_match_keras(keras):
    mean, log_var = (np.random.default_rng(2).normal(size=(3, 2)).astype("float32") for _ in range(2))
    keras_sampling, lamina_sampling = _guide_layers(keras)[4](), _guide_layers(lamina)[4]()
    for _ in range(2):  # the seed generators advance alike
        assert_close(lamina_sampling((torch.from_numpy(mean), torch.from_numpy(log_var))),
                     keras_sampling((mean, log_var)), 1e-6)
    keras_dropout, lamina_dropout = _guide_layers(keras)[5](0.5), _guide_layers(lamina)[5](0.5)
    x = np.ones((4, 8), "float32")
    assert_close(lamina_dropout(torch.from_numpy(x), training=True), keras_dropout(x, training=True))
    assert torch.equal(lamina_dropout(torch.from_numpy(x)), torch.from_numpy(x))


def test_guide_vae_trains_with_fit():
    lamina.utils.set_random_seed(0)
    vae = _vae(lamina)
    x = np.random.default_rng(3).uniform(size=(64, 12)).astype("float32")
    vae.compile(optimizer=lamina.optimizers.Adam(1e-2), loss=lamina.losses.MeanSquaredError())
    history = vae.fit(x, x, epochs=3, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert len(vae.losses) == 1


def test_guide_gan_train_step_with_ops():
    """The GAN train step of "Customizing what happens in fit()", written with ops and lamina.random."""
    ops, layers = lamina.ops, lamina.layers
    latent_dim = 4

    class GAN(lamina.Model):
        def __init__(self, discriminator, generator):
            super().__init__()
            self.discriminator, self.generator = discriminator, generator
            self.seed_generator = lamina.random.SeedGenerator(1337)
            self.d_loss_tracker = lamina.metrics.Mean(name="d_loss")
            self.g_loss_tracker = lamina.metrics.Mean(name="g_loss")

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

        def train_step(self, real_images):
            batch_size = ops.shape(real_images)[0]
            noise = lamina.random.normal(shape=(batch_size, latent_dim), seed=self.seed_generator)
            generated = self.generator(noise)
            combined = ops.concatenate([generated, real_images], axis=0)
            labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
            labels = labels + 0.05 * lamina.random.uniform(ops.shape(labels), seed=self.seed_generator)
            self.zero_grad()
            d_loss = self.loss_fn(labels, self.discriminator(ops.stop_gradient(combined)))
            d_loss.backward()
            weights = self.discriminator.trainable_weights
            self.d_optimizer.apply([w.value.grad for w in weights], weights)
            noise = lamina.random.normal(shape=(batch_size, latent_dim), seed=self.seed_generator)
            self.zero_grad()
            g_loss = self.loss_fn(ops.zeros((batch_size, 1)), self.discriminator(self.generator(noise)))
            g_loss.backward()
            weights = self.generator.trainable_weights
            self.g_optimizer.apply([w.value.grad for w in weights], weights)
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    discriminator = lamina.Sequential([layers.Dense(8, activation="relu", input_shape=(6,)), layers.Dense(1)])
    generator = lamina.Sequential([layers.Dense(8, activation="relu", input_shape=(latent_dim,)), layers.Dense(6)])
    gan = GAN(discriminator, generator)
    gan.compile(lamina.optimizers.Adam(1e-3), lamina.optimizers.Adam(1e-3),
                lamina.losses.BinaryCrossentropy(from_logits=True))
    history = gan.fit(np.random.default_rng(4).normal(size=(32, 6)).astype("float32"), epochs=2, batch_size=8,
                      verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"} and np.isfinite(history.history["g_loss"]).all()
