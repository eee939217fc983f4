"""Dtype names and their torch dtypes: the one table every module converts through.

``"string"`` is the dtype of text: torch has no string tensors, so string data travels as NumPy
arrays (``str``, ``bytes`` or ``object`` holding them) and symbolic string inputs are KerasTensors
with ``dtype="string"`` (``lamina.Input(shape=(1,), dtype="string")``), as in Keras.
"""

import numpy as np
import torch

from lamina import config

TORCH_DTYPES = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32,
    "int64": torch.int64, "uint8": torch.uint8, "bool": torch.bool,
}
DTYPE_NAMES = {value: key for key, value in TORCH_DTYPES.items()}
STRING = "string"


def is_string_array(value):
    """True for a NumPy array of text: ``str``/``bytes`` dtypes, or ``object`` holding str/bytes."""
    if not isinstance(value, np.ndarray):
        return False
    if value.dtype.kind in "US":
        return True
    return value.dtype == object and value.size > 0 and isinstance(value.flat[0], (str, bytes))


def standardize_dtype(dtype):
    """A dtype name ("float32") from a name, a torch dtype or a NumPy dtype."""
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, torch.dtype):
        return DTYPE_NAMES[dtype]
    if dtype is str or dtype is bytes or isinstance(dtype, str) and dtype in ("string", "str") or \
            isinstance(dtype, np.dtype) and dtype.kind in "US":
        return STRING
    name = getattr(dtype, "name", dtype)
    name = {"float": "float32", "int": "int64", "double": "float64", "half": "float16"}.get(name, name)
    if name not in TORCH_DTYPES:
        raise ValueError(f"Unknown dtype: {dtype!r}. Expected one of {sorted(TORCH_DTYPES)}.")
    return name
