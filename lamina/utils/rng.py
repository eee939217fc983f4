"""Seeding every random number generator lamina programs use."""

import random

import numpy as np
import torch

from lamina.ops.arguments import is_int


def set_random_seed(seed):
    """Seeds Python's ``random``, NumPy's global RNG and torch (CPU and every CUDA device) with ``seed``.

    Unseeded initializers and dropout draw from torch's global RNG, so this makes
    model building and training repeatable.

    >>> set_random_seed(42)
    """
    if not is_int(seed) or not 0 <= seed < 2**32:
        raise ValueError("set_random_seed: seed must be an int in [0, 2**32). "
                         f"Received: seed={seed!r} (of type {type(seed).__name__})")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
