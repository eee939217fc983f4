"""GaussianNoise, GaussianDropout, AlphaDropout and ActivityRegularization."""

import math

import torch

from lamina import regularizers
from lamina.engine.layer import Layer
from lamina.layers.regularization.base import RandomLayer
from lamina.ops.arguments import check_fraction
from lamina.layers.regularization.dropout import Dropout
from lamina.registry import register_builtin

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@register_builtin("keras.layers")
class GaussianNoise(RandomLayer):
    """Adds ``N(0, stddev²)`` noise in training; identity at inference. Shape unchanged.

    ``stddev`` must be in [0, 1], as Keras 3 requires.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = check_fraction(stddev, "stddev", "GaussianNoise")

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        noise = torch.randn(inputs.shape, dtype=inputs.dtype, device=inputs.device,
                            generator=self._generator(inputs.device))
        return inputs + noise * self.stddev

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@register_builtin("keras.layers")
class GaussianDropout(RandomLayer):
    """Multiplies inputs by ``N(1, rate / (1 - rate))`` noise in training; identity at inference.

    ``rate`` must be in [0, 1) (Keras accepts 1 and then divides by zero).
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = check_fraction(rate, "rate", "GaussianDropout", allow_one=False)
        self._stddev = math.sqrt(self.rate / (1.0 - self.rate))

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        noise = torch.randn(inputs.shape, dtype=inputs.dtype, device=inputs.device,
                            generator=self._generator(inputs.device))
        return inputs * noise.mul_(self._stddev).add_(1.0)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@register_builtin("keras.layers")
class AlphaDropout(Dropout):
    """Dropout for SELU networks: dropped inputs are set to SELU's negative saturation and the result is
    affinely rescaled so the mean and variance of standardized inputs are kept (training only).

    Args as ``Dropout``; shape unchanged.
    """

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        keep = torch.empty(self._noise_shape(inputs) or inputs.shape, dtype=inputs.dtype, device=inputs.device)
        keep.bernoulli_(1 - self.rate, generator=self._generator(inputs.device))
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return (inputs * keep + alpha_p * (1 - keep)) * a + b


@register_builtin("keras.layers")
class ActivityRegularization(Layer):
    """Returns its input unchanged and adds ``(l1 * sum|x| + l2 * sum x²) / batch_size`` to ``layer.losses``
    (Keras 3 divides activity penalties by the batch size)."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer")
        return {**config, "l1": self.l1, "l2": self.l2}
