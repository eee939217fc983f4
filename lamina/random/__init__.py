"""``lamina.random``: Keras 3's random ops (``keras.random``) on torch.

Seeds follow Keras: an int ``seed`` gives the same values at every call; a ``SeedGenerator`` advances
per draw; ``seed=None`` draws from torch's global RNG (``torch.manual_seed`` or
``lamina.utils.set_random_seed`` make it repeatable). Seeded draws equal Keras's (torch backend) on the
same device. Results are created on torch's default device.
"""

from lamina.random.distributions import (  # noqa: F401
    beta, binomial, categorical, dropout, gamma, normal, randint, shuffle, truncated_normal, uniform,
)
from lamina.ops.rng import SeedGenerator  # noqa: F401
