"""Dtype names and their torch dtypes: the one table every module converts through.

Also Keras 3's type promotion (``result_type``): the lattice Keras adapted from JAX, with weak
types for Python scalars, and 64-bit results narrowed to 32 bits as Keras does on its torch backend.

``"string"`` is the dtype of text: torch has no string tensors, so string data travels as NumPy
arrays (``str``, ``bytes`` or ``object`` holding them) and symbolic string inputs are KerasTensors
with ``dtype="string"`` (``lamina.Input(shape=(1,), dtype="string")``), as in Keras.
"""

import functools

import numpy as np
import torch

from lamina import config

TORCH_DTYPES = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32,
    "int64": torch.int64, "uint8": torch.uint8, "bool": torch.bool,
    "uint16": torch.uint16, "uint32": torch.uint32, "uint64": torch.uint64,
    "complex64": torch.complex64, "complex128": torch.complex128,
    "float8_e4m3fn": torch.float8_e4m3fn, "float8_e5m2": torch.float8_e5m2,
}
DTYPE_NAMES = {value: key for key, value in TORCH_DTYPES.items()}
STRING = "string"


def to_numpy(tensor):
    """A tensor's values as a NumPy array (detached, on the CPU). bfloat16 gives ml_dtypes' bfloat16 array, as
    Keras's ``get_weights`` does (ml_dtypes comes with Keras; without it, float32)."""
    tensor = tensor.detach().cpu()
    if tensor.dtype is torch.bfloat16:
        try:
            import ml_dtypes  # optional: only bfloat16 values need it
        except ImportError:
            return tensor.float().numpy()
        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def from_numpy(array):
    """A NumPy array (or array-like) as a tensor; ml_dtypes' bfloat16 (Keras's ``get_weights`` of bfloat16
    weights) included, which ``torch.as_tensor`` refuses."""
    if getattr(getattr(array, "dtype", None), "name", None) == "bfloat16":
        return torch.from_numpy(np.ascontiguousarray(array).view(np.int16)).view(torch.bfloat16)
    return torch.as_tensor(array)


def is_string_array(value):
    """True for a NumPy array of text: ``str``/``bytes`` dtypes, or ``object`` holding str/bytes."""
    if not isinstance(value, np.ndarray):
        return False
    if value.dtype.kind in "US":
        return True
    return value.dtype == object and value.size > 0 and isinstance(value.flat[0], (str, bytes))

# Python types (and Keras's "int" spelling) as Keras's torch backend names them.
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", complex: "complex64"}
_ALIASES = {"float": "float32", "int": "int32", "double": "float64", "half": "float16", "long": "int64"}


def standardize_dtype(dtype):
    """A dtype name ("float32") from a name, a torch dtype, a NumPy dtype or a Python type (None: floatx)."""
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, torch.dtype):
        return DTYPE_NAMES[dtype]
    if dtype is str or dtype is bytes or isinstance(dtype, str) and dtype in ("string", "str") or \
            isinstance(dtype, np.dtype) and dtype.kind in "US":
        return STRING
    if isinstance(dtype, type) and dtype in _PYTHON_DTYPES:
        return _PYTHON_DTYPES[dtype]
    name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or dtype
    name = _ALIASES.get(name, name)
    if name not in TORCH_DTYPES:
        raise ValueError(f"Unknown dtype: {dtype!r}. Expected one of {sorted(TORCH_DTYPES)}.")
    return name


def is_float_dtype(dtype):
    name = standardize_dtype(dtype)
    return name.startswith("float") or name.startswith("bfloat")


def is_int_dtype(dtype):
    name = standardize_dtype(dtype)
    return name.startswith("int") or name.startswith("uint")


# ---------------------------------------------------------------------------- type promotion
# Each dtype's immediate successors; "int" and "float" are the weak types of Python scalars.
_LATTICE = {
    "bool": ("int",), "int": ("uint8", "int8", "complex64"),
    "uint8": ("int16", "uint16"), "uint16": ("int32", "uint32"), "uint32": ("int64", "uint64"), "uint64": ("float",),
    "int8": ("int16",), "int16": ("int32",), "int32": ("int64",), "int64": ("float",),
    "float": ("bfloat16", "float16"), "bfloat16": ("float32",), "float16": ("float32",),
    "float32": ("float64", "complex64"), "float64": ("complex128",), "complex64": ("complex128",), "complex128": (),
}


def _upper_bounds():
    bounds = {}

    def reach(node):
        if node not in bounds:
            found = {node}
            for successor in _LATTICE[node]:
                found |= reach(successor)
            bounds[node] = frozenset(found)
        return bounds[node]

    for node in _LATTICE:
        reach(node)
    return bounds


_UPPER_BOUNDS = _upper_bounds()
_NARROWED = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}
_FLOAT8 = ("float8_e4m3fn", "float8_e5m2")


@functools.lru_cache(maxsize=512)
def _least_upper_bound(nodes):
    common = frozenset.intersection(*(_UPPER_BOUNDS[node] for node in nodes))
    least = [c for c in common if common <= _UPPER_BOUNDS[c]]
    if len(least) != 1:
        raise ValueError(f"Input dtypes {tuple(sorted(nodes))} have no implicit dtype promotion path. "
                         "Cast the inputs explicitly to the dtype you want.")
    return least[0]


def _weak(dtype):
    return "bool" if dtype == "bool" else "float" if "float" in dtype else "complex64" if "complex" in dtype else "int"


def result_type(*dtypes):
    """The dtype Keras 3's type promotion gives for ``dtypes`` (names, torch/NumPy dtypes, or the Python
    types ``int``/``float``/``bool`` for weakly typed scalars).

    >>> result_type("int32", "float16")
    'float16'
    >>> result_type("int8", float)   # a Python float takes floatx's precision
    'float32'
    """
    if not dtypes:
        return config.floatx()
    entries = []
    for dtype in dtypes:
        weak = dtype is int or dtype is float
        name = standardize_dtype(dtype)
        if name in _FLOAT8:
            raise ValueError(f"There is no implicit conversion from float8 dtypes to others; cast explicitly. "
                             f"Received: {dtypes}")
        entries.append((name, weak))
    names = [name for name, _ in entries]
    if len(entries) == 1:
        result, weak = entries[0]
    elif len(set(names)) == 1 and not all(weak for _, weak in entries):
        result, weak = names[0], False
    elif all(weak for _, weak in entries):
        result, weak = _least_upper_bound(frozenset(names)), True
    else:
        result = _least_upper_bound(frozenset(_weak(name) if weak else name for name, weak in entries))
        weak = result in ("int", "float")
    if weak and result != "bool":
        precision = config.floatx()[-2:]
        kind = result[0] if result != "bfloat16" else "f"
        result = {"i": f"int{precision}", "u": f"uint{precision}", "b": "bool"}.get(kind, f"float{precision}")
    return _NARROWED.get(result, result)
