"""Seeds for random ops: ``SeedGenerator`` and the torch generator a seed stands for.

Keras's rules (torch backend): an int ``seed`` is stateless (the same seed gives the same values every
call); a ``SeedGenerator`` holds a state ``[seed, counter]`` that advances by one per draw; ``seed=None``
draws from the global RNG, here torch's own (seeded by ``torch.manual_seed`` or
``lamina.utils.set_random_seed``), the fastest and the one ``torch.compile`` traces. An int seed or a
generator's state ``[s, c]`` seeds a ``torch.Generator`` with ``(s + c) mod 2**32``, as Keras does, so
seeded draws equal Keras's on the same device.
"""

import random

import torch

from lamina import naming
from lamina.ops.arguments import is_int


class SeedGenerator:
    """A random state for seeded random ops: each draw advances it.

    Args:
        seed: the initial seed (an int); None picks one at random (Python's ``random``).
        name: optional name.

    >>> generator = SeedGenerator(42)
    >>> a = lamina.random.normal((2,), seed=generator)
    >>> b = lamina.random.normal((2,), seed=generator)   # different values, reproducible run to run
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise ValueError(f"SeedGenerator: unrecognized keyword arguments: {sorted(kwargs)}")
        if seed is not None and not is_int(seed):
            raise ValueError(f"SeedGenerator: `seed` must be an int or None. Received: seed={seed!r}")
        self.name = name or naming.unique_name("seed_generator")
        self._initial_seed = seed
        initial = random.randint(1, int(1e9)) if seed is None else int(seed)
        # Python ints, not a tensor: drawing a seed never touches a device (nor fake tensors in a trace).
        self._state = [_as_int32(initial), 0]

    @property
    def state(self):
        """The state ``[seed, counter]`` as an int32 tensor (Keras's ``seed_generator_state``)."""
        return torch.tensor(self._state, dtype=torch.int32)

    def next(self, ordered=True):
        """The current state ``(seed, counter)``, advancing the state by one draw."""
        current = tuple(self._state)
        if ordered:
            self._state[1] += 1
        else:
            self._state = [_as_int32((v + 1) * 5387 % 933199) for v in self._state]
        return current

    def get_config(self):
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _as_int32(value):
    """``value`` wrapped to a signed 32-bit int (Keras keeps seeds as int32)."""
    return (int(value) & 0xFFFFFFFF ^ 0x80000000) - 0x80000000


def seed_value(seed):
    """The 32-bit seed a ``torch.Generator`` gets for ``seed`` (an int or a SeedGenerator, which advances)."""
    if isinstance(seed, SeedGenerator):
        first, second = seed.next()
    elif is_int(seed):
        first, second = _as_int32(seed), 0
    else:
        raise ValueError(f"`seed` must be an int, a lamina.random.SeedGenerator or None. "
                         f"Received: seed={seed!r} (of type {type(seed).__name__})")
    return (first + second) & 0xFFFFFFFF


def torch_generator(seed, device=None):
    """A ``torch.Generator`` for ``seed`` on ``device`` (torch's default device when None), or None for
    ``seed=None`` (torch's global RNG)."""
    if seed is None:
        return None
    generator = torch.Generator(device=device if device is not None else torch.get_default_device())
    return generator.manual_seed(seed_value(seed))
