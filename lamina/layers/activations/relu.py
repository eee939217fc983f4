"""ReLU-family activation layers: any shape in, the same shape out."""

import warnings

import torch
import torch.nn.functional as F

from lamina import activations, config
from lamina.dtypes import TORCH_DTYPES
from lamina.layers.activations.base_activation import ActivationLayer, check_non_negative
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class ReLU(ActivationLayer):
    """``x`` above ``threshold`` (clipped at ``max_value``), ``negative_slope * (x - threshold)`` below.

    Args:
        max_value: upper clip (>= 0), or None.
        negative_slope: slope below the threshold (>= 0).
        threshold: values at or below it are not passed through (>= 0).

    >>> ReLU(max_value=6.0)(torch.tensor([-1.0, 3.0, 9.0]))
    tensor([0., 3., 6.])
    """

    elementwise = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = check_non_negative(max_value, "max_value", "ReLU", allow_none=True)
        self.negative_slope = check_non_negative(negative_slope, "negative_slope", "ReLU")
        self.threshold = check_non_negative(threshold, "threshold", "ReLU")

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def _call_in_place(self, x):
        if self.negative_slope == 0 and self.max_value is None and self.threshold == 0:
            return torch.relu_(x)
        return self.call(x)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


@register_builtin("keras.layers")
class LeakyReLU(ActivationLayer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise. Keras 2's name ``alpha`` is accepted.

    >>> LeakyReLU(negative_slope=0.5)(torch.tensor([-2.0, 2.0]))
    tensor([-1.,  2.])
    """

    elementwise = True

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated (Keras 2). Use `negative_slope` instead.",
                          stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = check_non_negative(negative_slope, "negative_slope", "LeakyReLU")

    def call(self, inputs):
        return F.leaky_relu(inputs, self.negative_slope)

    def _call_in_place(self, x):
        return F.leaky_relu(x, self.negative_slope, inplace=True)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


@register_builtin("keras.layers")
class ELU(ActivationLayer):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    >>> ELU()(torch.tensor([0.0, 1.0])).tolist()
    [0.0, 1.0]
    """

    elementwise = True

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return F.elu(inputs, self.alpha)

    def _call_in_place(self, x):
        return F.elu(x, self.alpha, inplace=True)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register_builtin("keras.layers")
class ThresholdedReLU(ActivationLayer):
    """Keras 2's thresholded ReLU (removed in Keras 3): ``x`` where ``x > theta``, else 0.

    Args:
        theta: the threshold, a float >= 0, rounded to ``floatx()`` as Keras 2 does (so its config holds
            ``0.10000000149011612`` for ``theta=0.1``, as tf_keras's).

    >>> ThresholdedReLU(theta=1.0)(torch.tensor([0.5, 1.0, 2.0]))
    tensor([0., 0., 2.])
    """

    elementwise = True

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        check_non_negative(theta, "theta", "ThresholdedReLU")
        self.theta = float(torch.tensor(theta, dtype=TORCH_DTYPES[config.floatx()]))

    def call(self, inputs):
        return inputs * (inputs > self.theta).to(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}
