"""Products and correlations (``keras.ops.numpy``): matmul, dot, einsum, tensordot, inner, outer,
kron, vdot, cross, correlate, corrcoef.

Keras computes integer products in floats and casts back to ``result_type(x1, x2)`` (int8 x int8 gives
int32); on CPU float16 is computed in float32.
"""

import torch
import torch.nn.functional as F

from lamina.dtypes import result_type
from lamina.ops.keras_op import keras_op
from lamina.ops.tensors import dtype_name, floatx, to_tensor, torch_dtype
from lamina.symbolic.keras_tensor import KerasTensor


def _product_dtypes(x1, x2):
    """(compute dtype, result dtype) for a product of ``x1`` and ``x2``."""
    if x1.dtype is torch.int8 and x2.dtype is torch.int8:
        result = torch.int32
    else:
        result = torch_dtype(result_type(dtype_name(x1), dtype_name(x2)))
    compute = result if result.is_floating_point or result.is_complex else floatx()
    if compute is torch.float16 and x1.device.type == "cpu":
        compute = torch.float32
    return compute, result


def _product(torch_fn):
    def compute(x1, x2, *args, **kwargs):
        x1 = to_tensor(x1)
        x2 = to_tensor(x2, device=x1.device)
        compute_dtype, result = _product_dtypes(x1, x2)
        output = torch_fn(x1.to(compute_dtype), x2.to(compute_dtype), *args, **kwargs)
        return output if output.dtype is result else output.to(result)
    return compute


@keras_op("Matmul", "numpy")
def matmul(x1, x2):
    """The matrix product (batched over leading axes, NumPy's rules)."""
    x1, x2 = to_tensor(x1), to_tensor(x2)
    if x1.dtype is x2.dtype and x1.is_floating_point() and not (x1.dtype is torch.float16 and x1.device.type == "cpu"):
        return torch.matmul(x1, x2)  # the common case: one kernel, no casts
    return _product(torch.matmul)(x1, x2)


def _dot(a, b):
    return a * b if a.ndim == 0 or b.ndim == 0 else torch.matmul(a, b) if b.ndim <= 2 else torch.tensordot(
        a, b, dims=([a.ndim - 1], [b.ndim - 2]))


@keras_op("Dot", "numpy")
def dot(x1, x2):
    """NumPy's dot: scalars multiply, 1-D and 2-D follow matmul, N-D sums the last axis of ``x1`` with the
    second-to-last of ``x2``."""
    return _product(_dot)(x1, x2)


@keras_op("Tensordot", "numpy", config=("axes",))
def tensordot(x1, x2, axes=2):
    """The sum of products over ``axes`` (an int: the last/first ``axes`` axes, or a pair of axis lists)."""
    if isinstance(axes, (list, tuple)):
        first, second = axes
        axes = ([first] if isinstance(first, int) else list(first), [second] if isinstance(second, int) else list(second))
    return _product(torch.tensordot)(x1, x2, dims=axes)


@keras_op("Inner", "numpy")
def inner(x1, x2):
    """The inner product over the last axes."""
    return _product(torch.inner)(x1, x2)


@keras_op("Outer", "numpy")
def outer(x1, x2):
    """The outer product of the flattened inputs."""
    return _product(lambda a, b: torch.outer(a.reshape(-1), b.reshape(-1)))(x1, x2)


@keras_op("Vdot", "numpy")
def vdot(x1, x2):
    """The dot product of the flattened inputs (the first one conjugated)."""
    return _product(lambda a, b: torch.vdot(a.reshape(-1), b.reshape(-1)))(x1, x2)


@keras_op("Kron", "numpy")
def kron(x1, x2):
    """The Kronecker product."""
    x1, x2 = to_tensor(x1), to_tensor(x2)
    return torch.kron(x1, x2.to(x1.device))


@keras_op("Einsum", "numpy", config=("subscripts",))
def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over ``operands`` (int8 operands give int32)."""
    tensors = [to_tensor(o) for o in operands]
    if tensors and all(t.dtype is torch.int8 for t in tensors):
        return torch.einsum(subscripts, *[t.to(torch.int32) for t in tensors]).to(torch.int32)
    return torch.einsum(subscripts, *tensors)


@keras_op("Cross", "numpy", config=("axisa", "axisb", "axisc", "axis"))
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors (or 2-vectors, as NumPy) along the vector axes."""
    x1, x2 = to_tensor(x1), to_tensor(x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = torch.movedim(x1, axisa, -1), torch.movedim(x2, axisb, -1)
    compute, result = _product_dtypes(a, b)
    a, b = a.to(compute), b.to(compute)
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]).to(result)
    if a.shape[-1] == 2:
        a = F.pad(a, (0, 1))
    if b.shape[-1] == 2:
        b = F.pad(b, (0, 1))
    a, b = torch.broadcast_tensors(a, b)
    return torch.movedim(torch.linalg.cross(a, b, dim=-1), -1, axisc).to(result)


@keras_op("Correlate", "numpy", config=("mode",))
def correlate(x1, x2, mode="valid"):
    """The cross-correlation of two 1-D sequences (``mode`` "valid", "same" or "full")."""
    x1, x2 = to_tensor(x1), to_tensor(x2)
    dtype = torch_dtype(result_type(dtype_name(x1), dtype_name(x2)))
    dtype = torch.float64 if dtype is torch.int64 else dtype if dtype in (torch.bfloat16, torch.float16,
                                                                          torch.float64) else torch.float32
    x1, x2 = x1.to(dtype), x2.to(dtype)
    full = F.conv1d(x1.reshape(1, 1, -1), x2.reshape(1, 1, -1), padding=x2.shape[-1] - 1).reshape(-1)
    n1, n2 = x1.shape[-1], x2.shape[-1]
    if mode == "full":
        return full
    if mode == "same":
        start = (full.shape[-1] - n1) // 2
        return full[start:start + n1]
    if mode == "valid":
        length = max(n1, n2) - min(n1, n2) + 1
        start = (full.shape[-1] - length) // 2
        return full[start:start + length]
    raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full'. Received: mode={mode!r}")


def _corrcoef_spec(x):
    rows = 1 if len(x.shape) < 2 else x.shape[0]
    return KerasTensor((rows, rows) if len(x.shape) == 2 else (), dtype=x.dtype if "float" in x.dtype else "float32")


@keras_op("Corrcoef", "numpy", output_spec=_corrcoef_spec)
def corrcoef(x):
    """The Pearson correlation coefficients of the rows of ``x``."""
    x = to_tensor(x)
    if x.dtype is torch.bool:
        x = x.to(floatx())
    elif x.dtype is torch.int64:
        x = x.to(torch.float64)
    return torch.corrcoef(x)
