"""Mixed precision, as ``keras.mixed_precision``: the global dtype policy and loss scaling.

>>> lamina.mixed_precision.set_global_policy("mixed_float16")   # new layers compute in float16
>>> lamina.mixed_precision.global_policy()
<DTypePolicy "mixed_float16">

Layers created afterwards without a ``dtype`` keep float32 weights and compute in float16 (or
bfloat16) under ``torch.autocast``; ``compile`` wraps the optimizer of a float16 model in a
``LossScaleOptimizer``.
"""

from lamina.config import dtype_policy, set_dtype_policy  # noqa: F401
from lamina.dtype_policies import DTypePolicy
from lamina.optimizers import LossScaleOptimizer  # noqa: F401

Policy = DTypePolicy
global_policy = dtype_policy
set_global_policy = set_dtype_policy

__all__ = ["DTypePolicy", "Policy", "LossScaleOptimizer", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]
