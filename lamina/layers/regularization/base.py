"""Shared pieces of the random regularization layers: seeding and Bernoulli masks."""

import torch

from lamina.engine.layer import Layer
from lamina.ops.arguments import check_seed


class RandomLayer(Layer):
    """A layer drawing random numbers: torch's global RNG when ``seed`` is None, else its own generator.

    A seeded layer draws a fixed sequence (a new draw per call), as Keras's ``SeedGenerator(seed)``.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = check_seed(seed, type(self).__name__)
        self.supports_masking = True
        self._generators = {}

    def _call_reads_only_training(self):
        return not self._has_sublayers()  # ``training`` decides whether the call draws

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
