"""Dropout and SpatialDropout1D/2D/3D."""

import numbers

from lamina.engine.input_spec import InputSpec
from lamina.layers.regularization.base import RandomLayer
from lamina.ops.arguments import check_fraction, is_int
from lamina.ops.arguments import normalize_data_format
from lamina.registry import register_builtin


def _check_noise_shape(noise_shape):
    if noise_shape is None:
        return None
    if isinstance(noise_shape, (tuple, list)) and all(
            d is None or (is_int(d) and d > 0) for d in noise_shape):
        return tuple(noise_shape)
    raise ValueError("Dropout: `noise_shape` must be a tuple of positive ints or None (None: the input's size on "
                     f"that axis), batch axis included. Received: noise_shape={noise_shape!r}")


@register_builtin("keras.layers")
class Dropout(RandomLayer):
    """Sets inputs to 0 with probability ``rate`` in training and scales the rest by ``1 / (1 - rate)``.

    Args:
        rate: fraction in [0, 1] to drop.
        noise_shape: shape of the binary mask, broadcast over the input (batch axis included); None entries
            take the input's size, e.g. ``(None, 1, None)`` drops the same features at every time step.
        seed: int for a reproducible sequence of masks.

    Identity unless called with ``training=True`` (or inside ``model.train()``). Shape unchanged.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = check_fraction(rate, "rate", type(self).__name__)
        self.noise_shape = _check_noise_shape(noise_shape)

    def _noise_shape(self, inputs):
        if self.noise_shape is None:
            return None
        return tuple(size if wanted is None else wanted for wanted, size in zip(self.noise_shape, inputs.shape))

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return self._dropout(inputs, self.rate, self._noise_shape(inputs))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class BaseSpatialDropout(Dropout):
    """Drops whole feature maps (channels): the mask has size 1 on every spatial axis."""

    rank = None

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = normalize_data_format(data_format, type(self).__name__)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _noise_shape(self, inputs):
        batch, ones = inputs.shape[0], (1,) * self.rank
        if self.data_format == "channels_first":
            return (batch, inputs.shape[1]) + ones
        return (batch,) + ones + (inputs.shape[-1],)

    def get_config(self):
        # Keras's spatial dropout configs hold exactly these keys (no `trainable`, no `noise_shape`),
        # with the dtype as a plain name.
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype_policy.name,
                "data_format": self.data_format}


@register_builtin("keras.layers")
class SpatialDropout1D(BaseSpatialDropout):
    """Dropout of whole channels of ``(batch, steps, channels)`` inputs (channels_last only, as Keras)."""

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, data_format="channels_last", seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


@register_builtin("keras.layers")
class SpatialDropout2D(BaseSpatialDropout):
    """Dropout of whole feature maps of ``(batch, h, w, c)`` (or ``(batch, c, h, w)``) inputs."""

    rank = 2


@register_builtin("keras.layers")
class SpatialDropout3D(BaseSpatialDropout):
    """Dropout of whole feature maps of ``(batch, d, h, w, c)`` (or ``(batch, c, d, h, w)``) inputs."""

    rank = 3
