"""Conversions every op shares: arguments to torch tensors with Keras's dtype rules, dtypes, axes.

Keras (torch backend) converts a Python float to floatx, a Python int to int32 (int64 beyond 32 bits),
a bool to bool, lists through their elements' promoted dtype, NumPy arrays keeping their dtype.
Binary ops hand Python scalars to torch as they are (torch's wrapped numbers promote like Keras's
0-d tensors, with no extra tensor per call); the one case where they differ, a bool tensor with an
int scalar, is promoted to int32 as Keras does.
"""

import numbers

import numpy as np
import torch

from lamina import config, tree
from lamina.dtypes import DTYPE_NAMES, TORCH_DTYPES, result_type, standardize_dtype


def torch_dtype(dtype):
    """The torch dtype for a dtype name, a torch/NumPy dtype or a Python type (None: floatx)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    return TORCH_DTYPES[standardize_dtype(dtype)]


def floatx():
    return TORCH_DTYPES[config.floatx()]


def dtype_name(tensor):
    return DTYPE_NAMES[tensor.dtype]


def _scalar_dtype(value):
    if isinstance(value, bool):
        return torch.bool
    if isinstance(value, numbers.Integral):
        return torch.int64 if not -2**31 <= value < 2**31 else torch.int32
    if isinstance(value, numbers.Real):
        return floatx()
    return torch.complex64


def to_tensor(value, dtype=None, device=None):
    """``value`` as a torch tensor (tensors pass through, cast to ``dtype`` when given)."""
    if isinstance(value, torch.Tensor):
        if dtype is not None:
            dtype = torch_dtype(dtype)
            if value.dtype is not dtype:
                value = value.to(dtype)
        return value if device is None or value.device == device else value.to(device)
    target = None if dtype is None else torch_dtype(dtype)
    if isinstance(value, (bool, int, float, complex, np.generic)) and not isinstance(value, np.ndarray):
        if isinstance(value, np.generic):
            value = np.asarray(value)
        else:
            return torch.tensor(value, dtype=target or _scalar_dtype(value), device=device)
    if isinstance(value, (list, tuple)):
        leaves = tree.flatten(value)
        if leaves and any(isinstance(leaf, torch.Tensor) for leaf in leaves):
            return torch.stack([to_tensor(item, dtype, device) for item in value])
        if target is None:
            target = torch_dtype(result_type(*[getattr(leaf, "dtype", type(leaf)) for leaf in leaves])) \
                if leaves else floatx()
        return torch.tensor(np.asarray(value), dtype=target, device=device)
    array = np.asarray(value)
    if array.dtype == object:
        raise TypeError(f"Cannot convert {type(value).__name__} to a tensor: ragged or non-numeric content.")
    if array.dtype == np.uint32:
        array = array.astype(np.int64)  # as Keras's torch backend: few torch kernels take uint32
    elif array.dtype.name == "bfloat16":
        array, target = array.astype(np.float32), target or torch.bfloat16
    tensor = torch.as_tensor(array, device=device)
    return tensor if target is None or tensor.dtype is target else tensor.to(target)


def cast(value, dtype):
    """``value`` as a tensor of ``dtype`` (no copy when it already has it)."""
    dtype = torch_dtype(dtype)
    if isinstance(value, torch.Tensor):
        return value if value.dtype is dtype else value.to(dtype)
    return to_tensor(value, dtype)


def operands(x1, x2):
    """Two operands of a binary op: tensors, or a tensor and a Python scalar (kept as a scalar)."""
    first, second = isinstance(x1, torch.Tensor), isinstance(x2, torch.Tensor)
    if first and second:
        return x1, x2
    if first:
        return x1, _scalar_or_tensor(x2, x1)
    if second:
        return _scalar_or_tensor(x1, x2), x2
    return to_tensor(x1), to_tensor(x2)


def _scalar_or_tensor(value, other):
    if isinstance(value, (bool, int, float)):
        if other.dtype is torch.bool and not isinstance(value, bool):
            return torch.tensor(value, dtype=_scalar_dtype(value), device=other.device)
        return value
    return to_tensor(value, device=other.device)


def is_floating(tensor):
    return tensor.is_floating_point()


def to_float(tensor, dtype=None):
    """Integer and bool tensors as floatx (``dtype`` when given); float tensors unchanged."""
    if tensor.is_floating_point() or tensor.is_complex():
        return tensor
    return tensor.to(dtype or floatx())


def axis_tuple(axis):
    """``axis`` (None, an int or a sequence) as None or a tuple of ints."""
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    return (int(axis),)


def canonical_axis(axis, ndim):
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"axis {axis} is out of bounds for a tensor of rank {ndim}.")
    return axis % ndim if ndim else 0
