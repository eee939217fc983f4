"""Dtype names and their torch dtypes: the one table every module converts through."""

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
