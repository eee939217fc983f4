"""Shared pieces of the random regularization layers: rate checks, seeding, Bernoulli masks."""

import numbers

import torch

from lamina.engine.layer import Layer


def check_fraction(value, arg_name, layer_name, allow_one=True):
    """A float in [0, 1] (or [0, 1) when ``allow_one`` is False)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not (0 <= value and (value <= 1 if allow_one else value < 1)):
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise ValueError(f"{layer_name}: the `{arg_name}` argument must be a float in {interval}. "
                         f"Received: {arg_name}={value!r}")
    return value


class RandomLayer(Layer):
    """A layer drawing random numbers: torch's global RNG when ``seed`` is None, else its own generator.

    A seeded layer draws a fixed sequence (a new draw per call), as Keras's ``SeedGenerator(seed)``.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"{type(self).__name__}: `seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self.supports_masking = True
        self._generators = {}

    def _generator(self, device):
        """The layer's generator on ``device`` (created at the first draw there), or None if unseeded."""
        if self.seed is None:
            return None
        generator = self._generators.get(device)
        if generator is None:
            generator = self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        return generator

    def _dropout(self, inputs, rate, noise_shape):
        """Zeroes entries with probability ``rate`` (one draw per ``noise_shape`` cell, broadcast), scales the
        rest by ``1 / (1 - rate)``."""
        if rate == 1:
            return torch.zeros_like(inputs)
        if noise_shape is None and self.seed is None:
            return torch.nn.functional.dropout(inputs, rate, training=True)
        keep = torch.empty(noise_shape or inputs.shape, dtype=inputs.dtype, device=inputs.device)
        keep.bernoulli_(1 - rate, generator=self._generator(inputs.device))
        return inputs * keep.div_(1 - rate)

    def compute_output_shape(self, input_shape):
        return input_shape
