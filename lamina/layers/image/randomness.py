"""Random draws with Keras's seed semantics, so a seeded layer draws exactly what Keras 3 (torch) draws.

Keras gives a seeded layer a ``SeedGenerator(seed)``: its k-th random op (counting from 0) runs on a fresh
``torch.Generator`` seeded ``(seed + k) & 0xFFFFFFFF`` on the device it draws on. ``SeedStream`` is that
counter; each function below takes one generator from it per call, as the Keras op of the same name
does, and uses Keras's formula, so equal seeds give equal numbers on the same device. An unseeded
stream draws from torch's global RNG (``torch.manual_seed`` governs it, and a ``DataLoader`` worker gets
its own seed).
"""

import torch


class SeedStream:
    """Keras's ``SeedGenerator`` on torch: one new generator per draw, or torch's global RNG (seed None)."""

    def __init__(self, seed=None):
        self.seed = seed
        self.draws = 0

    def generator(self, device):
        """The generator for the next draw on ``device`` (None: the global RNG)."""
        if self.seed is None:
            return None
        generator = torch.Generator(device=device)
        generator.manual_seed((self.seed + self.draws) & 0xFFFFFFFF)
        self.draws += 1
        return generator


def uniform(stream, shape, minval=0.0, maxval=1.0, dtype=torch.float32, device=None):
    """Uniform in [minval, maxval), as ``keras.random.uniform``: ``(maxval - minval) * rand + minval``."""
    values = torch.rand(tuple(shape) or (1,), generator=stream.generator(device), dtype=dtype, device=device)
    values = (maxval - minval) * values + minval
    return values if shape else values[0]


def randint(stream, shape, minval, maxval, dtype=torch.int32, device=None):
    """Integers in [minval, maxval), as ``keras.random.randint``."""
    return torch.randint(minval, maxval, tuple(shape), generator=stream.generator(device), dtype=dtype,
                         device=device)


def normal(stream, shape, mean=0.0, stddev=1.0, dtype=torch.float32, device=None):
    return torch.normal(mean, stddev, size=tuple(shape), generator=stream.generator(device), dtype=dtype,
                        device=device)


def permutation(stream, size, dtype=torch.int64, device=None):
    """A random permutation of ``range(size)``, as ``keras.random.shuffle(arange(size))``."""
    keys = torch.rand((size,), generator=stream.generator(device), device=device)
    return keys.argsort(0).to(dtype)


def beta(stream, shape, alpha, beta_, dtype=torch.float32, device=None):
    """Beta(alpha, beta) samples, as ``keras.random.beta`` (torch's Dirichlet sampler on (alpha, beta))."""
    alpha = torch.broadcast_to(torch.as_tensor(alpha, dtype=torch.float32, device=device), tuple(shape))
    beta_ = torch.broadcast_to(torch.as_tensor(beta_, dtype=torch.float32, device=device), tuple(shape))
    # torch.distributions.Beta samples with torch._sample_dirichlet on the global RNG; calling the sampler
    # directly takes a generator, so nothing global is touched.
    samples = torch._sample_dirichlet(torch.stack([alpha, beta_], -1), generator=stream.generator(device))
    return samples[..., 0].to(dtype)


def gamma(stream, shape, alpha, dtype=torch.float32, device=None):
    """Gamma(alpha, 1) samples, as ``keras.random.gamma`` (torch's Gamma sampler, clamped to the tiniest float)."""
    alpha = torch.broadcast_to(torch.as_tensor(alpha, dtype=torch.float32, device=device), tuple(shape))
    samples = torch._standard_gamma(alpha.contiguous(), generator=stream.generator(device))
    return samples.clamp(min=torch.finfo(samples.dtype).tiny).to(dtype)
