"""Dtype policies: the dtype of a layer's weights and of its computation.

``"float32"`` (any float dtype name) uses that dtype for both.
``"mixed_float16"`` / ``"mixed_bfloat16"`` keep float32 weights and compute
in the half type under ``torch.autocast``.
"""

import torch

from lamina import config

TORCH_DTYPES = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32,
    "int64": torch.int64, "uint8": torch.uint8, "bool": torch.bool,
}
DTYPE_NAMES = {value: key for key, value in TORCH_DTYPES.items()}


def standardize_dtype(dtype):
    """A dtype name ("float32") from a name, a torch dtype or a NumPy dtype."""
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, torch.dtype):
        return DTYPE_NAMES[dtype]
    name = getattr(dtype, "name", dtype)
    name = {"float": "float32", "int": "int64", "double": "float64", "half": "float16"}.get(name, name)
    if name not in TORCH_DTYPES:
        raise ValueError(f"Unknown dtype: {dtype!r}. Expected one of {sorted(TORCH_DTYPES)}.")
    return name


class DTypePolicy:
    """A layer's dtype policy, serialized as Keras's ``DTypePolicy``."""

    def __init__(self, name=None):
        name = name or config.floatx()
        if name in ("mixed_float16", "mixed_bfloat16"):
            self.compute_dtype, self.variable_dtype = name[len("mixed_"):], "float32"
        else:
            self.compute_dtype = self.variable_dtype = standardize_dtype(name)
        self.name = name

    @property
    def is_mixed(self):
        return self.compute_dtype != self.variable_dtype

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


def get_policy(dtype):
    """A DTypePolicy from None (floatx), a name, a torch dtype, a policy or its config."""
    if isinstance(dtype, DTypePolicy):
        return dtype
    if isinstance(dtype, dict):
        return DTypePolicy(**dtype.get("config", dtype))
    if dtype is None or isinstance(dtype, str) and dtype.startswith("mixed_"):
        return DTypePolicy(dtype)
    return DTypePolicy(standardize_dtype(dtype))


def serialize_policy(policy):
    return {"module": "keras", "class_name": "DTypePolicy", "config": policy.get_config(),
            "registered_name": None}
