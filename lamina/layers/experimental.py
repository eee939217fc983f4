"""``lamina.layers.experimental``: where tf.keras code finds Keras 2's experimental layers
(``tf.keras.layers.experimental.RandomFourierFeatures``)."""

from lamina.layers.core.random_fourier_features import RandomFourierFeatures

__all__ = ["RandomFourierFeatures"]
