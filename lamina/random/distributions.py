"""The random draws of ``lamina.random``: the torch calls Keras's torch backend makes, so seeded draws
give Keras's numbers."""

import torch
import torch.nn.functional as F

from lamina.ops.arguments import check_fraction
from lamina.ops.rng import SeedGenerator, seed_value, torch_generator
from lamina.ops.tensors import floatx, to_tensor, torch_dtype


def _dtype(dtype):
    return floatx() if dtype is None else torch_dtype(dtype)


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from the normal distribution N(``mean``, ``stddev``**2)."""
    return torch.normal(mean, stddev, size=_shape(shape), generator=torch_generator(seed), dtype=_dtype(dtype))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples from the uniform distribution on [``minval``, ``maxval``)."""
    shape = _shape(shape)
    dtype = _dtype(dtype)
    if not dtype.is_floating_point:
        raise ValueError(f"uniform: `dtype` must be a float dtype (use randint for integers). Received: {dtype}")
    values = torch.rand(shape or (1,), generator=torch_generator(seed), dtype=dtype)
    values = (maxval - minval) * values + minval
    return values[0] if not shape else values


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from [``minval``, ``maxval``)."""
    return torch.randint(minval, maxval, _shape(shape), generator=torch_generator(seed), dtype=torch_dtype(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from N(``mean``, ``stddev``**2) kept within two standard deviations of the mean."""
    shape = _shape(shape)
    dtype = _dtype(dtype)
    candidates = torch.normal(0.0, 1.0, size=shape + (4,), generator=torch_generator(seed), dtype=dtype)
    # The first of four candidates inside (-2, 2) (as Keras's torch backend picks them).
    first_valid = ((candidates > -2) & (candidates < 2)).max(-1, keepdim=True)[1]
    return candidates.gather(-1, first_valid).squeeze(-1) * stddev + mean


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of ``logits`` ``(batch, classes)``, drawn with softmax
    probabilities."""
    probabilities = torch.softmax(to_tensor(logits), dim=-1)
    return torch.multinomial(probabilities, num_samples, replacement=True,
                             generator=torch_generator(seed, probabilities.device)).to(torch_dtype(dtype))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """``inputs`` with a fraction ``rate`` of entries zeroed and the rest scaled by ``1 / (1 - rate)``;
    ``noise_shape`` (None entries: the input's) shares the mask along axes of size 1."""
    check_fraction(rate, "rate", "dropout")
    inputs = to_tensor(inputs)
    if rate == 1.0:
        return torch.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    unseeded = seed is None or isinstance(seed, SeedGenerator) and seed._initial_seed is None
    if unseeded and noise_shape is None:
        return F.dropout(inputs, p=rate, training=True)  # the fused kernel, on torch's global RNG
    keep = 1.0 - rate
    shape = inputs.shape if noise_shape is None else [d if n is None else n for d, n in zip(inputs.shape,
                                                                                          noise_shape)]
    mask = torch.bernoulli(torch.full(tuple(shape), keep, device=inputs.device),
                           generator=torch_generator(None if unseeded else seed, inputs.device)).bool()
    return torch.where(mask.broadcast_to(inputs.shape), inputs / keep, torch.zeros((), dtype=inputs.dtype,
                                                                                   device=inputs.device))


def shuffle(x, axis=0, seed=None):
    """``x`` with its slices along ``axis`` in a random order (a different one per leading index)."""
    x = to_tensor(x)
    order = torch.rand(x.shape[:axis + 1], generator=torch_generator(seed, x.device), device=x.device).argsort(axis)
    order = order.reshape(order.shape + (1,) * (x.ndim - axis - 1)).expand(x.shape)
    return x.gather(axis, order)


def _sample_with_seed(seed, sample):
    """``sample()`` with torch's global RNG seeded from ``seed`` and restored afterwards (Keras's torch
    backend draws gamma, beta and binomial samples this way), or as it is for ``seed=None``."""
    if seed is None:
        return sample()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed_value(seed))
        return sample()


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples from the Gamma distribution with concentration ``alpha`` and rate 1."""
    shape = _shape(shape)
    alpha = torch.broadcast_to(to_tensor(alpha), shape)
    distribution = torch.distributions.Gamma(alpha, torch.ones(shape))
    return _sample_with_seed(seed, distribution.sample).to(_dtype(dtype))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples from the Beta(``alpha``, ``beta``) distribution."""
    shape = _shape(shape)
    distribution = torch.distributions.Beta(torch.broadcast_to(to_tensor(alpha), shape),
                                            torch.broadcast_to(to_tensor(beta), shape))
    return _sample_with_seed(seed, distribution.sample).to(_dtype(dtype))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples from the Binomial(``counts``, ``probabilities``) distribution."""
    shape = _shape(shape)
    distribution = torch.distributions.Binomial(total_count=torch.broadcast_to(to_tensor(counts), shape),
                                                probs=torch.broadcast_to(to_tensor(probabilities), shape))
    return _sample_with_seed(seed, distribution.sample).to(_dtype(dtype))
