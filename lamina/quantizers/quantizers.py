"""Keras's quantization functions and quantizer classes on torch tensors.

The arithmetic goes through ``lamina.ops`` so dtype promotion, rounding (half to even) and clipping
are Keras's; ``to_numpy=True`` paths compute in NumPy on the host, as Keras's do.
"""

import math

import numpy as np
import torch

from lamina import config
from lamina import dtypes
from lamina import ops
from lamina import registry

_MODULE = "keras.quantizers"
_INT_DTYPES = ("int8", "uint8")


def _check_value_range(owner, value_range):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2 or value_range[0] >= value_range[1]:
        raise ValueError(f"{owner}: value_range must be a pair (min, max) with min < max. "
                         f"Received: value_range={value_range!r}")


def _check_axis(owner, axis, ndim, allow_none=True):
    """A canonical (non-negative) axis, or a tuple of them."""
    if axis is None and allow_none:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
        raise TypeError(f"{owner}: axis must be an int or a tuple of ints. Received: axis={axis!r}")
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{owner}: axis {a} is out of bounds for a tensor of rank {ndim}. Received: axis={axis!r}")
    canonical = tuple(a % max(ndim, 1) for a in axes)
    return canonical if isinstance(axis, (tuple, list)) else canonical[0]


@registry.register_builtin(_MODULE)
class Quantizer:
    """Base class: ``__call__(x)`` returns the quantized output; subclasses implement ``get_config()``."""

    def __init__(self, output_dtype="int8"):
        self.output_dtype = output_dtype

    def __call__(self, x):
        return x

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{self} does not implement get_config()")


def abs_max_quantize(inputs, axis, value_range=(-127, 127), dtype="int8", epsilon=config.epsilon(), to_numpy=False):
    """Symmetric quantization by the absolute maximum along ``axis``.

    ``scale = value_range[1] / (max(|inputs|, axis, keepdims) + epsilon)``;
    ``outputs = clip(round(inputs * scale), *value_range)`` cast to ``dtype``.

    Args:
        inputs: a tensor of any shape.
        axis: an int, a tuple of ints, or None (the whole tensor) to reduce over.
        to_numpy: compute on the host in NumPy (saves device memory).

    Returns:
        ``(outputs, scale)``: ``outputs`` has the shape of ``inputs`` and dtype ``dtype``; ``scale`` has
        ``inputs``'s shape with the reduced axes kept as 1, in ``inputs``'s dtype.

    >>> q, s = abs_max_quantize(torch.tensor([[1.0, -2.0]]), axis=-1)
    >>> q
    tensor([[ 64, -127]], dtype=torch.int8)
    """
    _check_value_range("abs_max_quantize", value_range)
    if to_numpy:
        original_dtype = dtypes.standardize_dtype(inputs.dtype)
        array = ops.convert_to_numpy(inputs)
        np_axis = tuple(axis) if isinstance(axis, list) else axis
        _check_axis("abs_max_quantize", axis, array.ndim)
        scale = np.divide(value_range[1], np.add(np.max(np.abs(array), axis=np_axis, keepdims=True), epsilon))
        outputs = np.clip(np.round(np.multiply(array, scale)), value_range[0], value_range[1]).astype(dtype)
        return ops.convert_to_tensor(outputs), ops.convert_to_tensor(scale, dtype=original_dtype)
    inputs = ops.convert_to_tensor(inputs)
    _check_axis("abs_max_quantize", axis, inputs.ndim)
    # Keras's torch backend drops keepdims for axis=None: the scale of a whole tensor is a scalar.
    amax = ops.max(ops.abs(inputs), axis=axis, keepdims=axis is not None)
    scale = ops.divide(value_range[1], ops.add(amax, epsilon))
    scale = ops.cast(scale, dtypes.standardize_dtype(inputs.dtype))
    outputs = ops.clip(ops.round(ops.multiply(inputs, scale)), value_range[0], value_range[1])
    return ops.cast(outputs, dtype), scale


def _check_grouped(inputs, block_size, value_range):
    owner = "abs_max_quantize_grouped_with_zero_point"
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size <= 0:
        raise ValueError(f"{owner}: block_size must be a positive int. Received: block_size={block_size!r}")
    _check_value_range(owner, value_range)
    if len(inputs.shape) != 2 or 0 in tuple(inputs.shape):
        raise ValueError(f"{owner}: inputs must be a non-empty 2-D tensor (input_dim, output_dim). "
                         f"Received: inputs.shape={tuple(inputs.shape)}")


def abs_max_quantize_grouped_with_zero_point(inputs, block_size, value_range=(-8, 7), dtype="int8",
                                             epsilon=config.epsilon(), to_numpy=False):
    """Asymmetric quantization of a 2-D ``(input_dim, output_dim)`` tensor in groups of ``block_size`` rows.

    Returns:
        ``(outputs, scale, zero_point)``: ``outputs`` ``(input_dim, output_dim)`` in ``dtype``; ``scale``
        ``(n_groups, output_dim)`` in ``inputs``'s dtype; ``zero_point`` ``(n_groups, output_dim)`` int8,
        with ``n_groups = ceil(input_dim / block_size)``.

    The device path derives the bit width from ``value_range`` and, like Keras, computes a single group
    without the zero padding (and widens an all-equal group by ±1); the NumPy path pads every group.
    """
    _check_grouped(inputs, block_size, value_range)
    if to_numpy:
        return _grouped_numpy(inputs, block_size, value_range, dtype, epsilon)
    return _grouped_tensor(inputs, block_size, value_range, dtype, epsilon)


def _grouped_numpy(inputs, block_size, value_range, dtype, epsilon):
    original_dtype = dtypes.standardize_dtype(inputs.dtype)
    array = ops.convert_to_numpy(inputs)
    input_dim, output_dim = array.shape
    n_groups = math.ceil(input_dim / block_size)
    qmin, qmax = value_range
    padded_dim = n_groups * block_size
    if padded_dim > input_dim:
        array = np.concatenate([array, np.zeros((padded_dim - input_dim, output_dim), dtype=array.dtype)], axis=0)
    grouped = array.reshape(n_groups, block_size, output_dim)
    min_val = np.min(grouped, axis=1, keepdims=True)
    max_val = np.max(grouped, axis=1, keepdims=True)
    scale = np.divide(np.subtract(max_val, min_val) + epsilon, qmax - qmin)
    zero_point = np.clip(np.round(np.divide(-min_val, scale)) + qmin, qmin, qmax)
    outputs = np.clip(np.round(np.divide(grouped, scale)) + zero_point, qmin, qmax).astype(dtype)
    outputs = outputs.reshape(padded_dim, output_dim)[:input_dim, :]
    return (ops.convert_to_tensor(outputs),
            ops.convert_to_tensor(np.squeeze(scale, axis=1), dtype=original_dtype),
            ops.convert_to_tensor(np.squeeze(zero_point, axis=1).astype("int8")))


def _group_scale_and_zero(x, bits, group_size, compute_dtype, epsilon):
    """Keras's ``compute_quantization_parameters`` (asymmetric, per-channel, signed) for ``x`` of shape
    ``(out_features, in_features)``: scale and int8 zero point of shape ``(out_features, n_groups)``."""
    out_features, in_features = x.shape
    n_groups = (in_features + group_size - 1) // group_size
    if n_groups > 1:
        remainder = in_features % group_size
        if remainder:
            x = torch.nn.functional.pad(x, (0, group_size - remainder))
        grouped = ops.reshape(x, (out_features, n_groups, group_size))
        min_values, max_values = ops.min(grouped, axis=2), ops.max(grouped, axis=2)
    else:
        min_values, max_values = ops.min(x, axis=1), ops.max(x, axis=1)
    zero_range = ops.equal(min_values, max_values)
    min_values = ops.where(zero_range, ops.subtract(min_values, 1), min_values)
    max_values = ops.where(zero_range, ops.add(max_values, 1), max_values)
    maxq = ops.cast(2 ** bits - 1, compute_dtype)
    range_values = ops.subtract(max_values, min_values)
    if epsilon > 0:
        range_values = ops.add(range_values, epsilon)
    scale = ops.divide(range_values, maxq)
    scale = ops.where(ops.less_equal(scale, 0), 1e-8, scale)
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    zero = ops.clip(ops.add(ops.round(ops.divide(ops.negative(min_values), scale)), qmin), qmin, qmax)
    if n_groups == 1:
        scale, zero = ops.reshape(scale, (-1, 1)), ops.reshape(zero, (-1, 1))
    return scale, ops.cast(zero, "int8")


def _grouped_tensor(inputs, block_size, value_range, dtype, epsilon):
    original_dtype = dtypes.standardize_dtype(inputs.dtype)
    inputs = ops.convert_to_tensor(inputs)
    input_dim, output_dim = inputs.shape
    qmin, qmax = value_range
    bits = int(math.log2(qmax - qmin + 1))
    n_groups = math.ceil(input_dim / block_size)
    padded_dim = n_groups * block_size
    scale_t, zero_t = _group_scale_and_zero(ops.transpose(inputs), bits, block_size, original_dtype, epsilon)
    scale, zero_point = ops.transpose(scale_t), ops.transpose(zero_t)
    padded = torch.nn.functional.pad(inputs, (0, 0, 0, padded_dim - input_dim)) if padded_dim > input_dim else inputs
    grouped = ops.reshape(padded, (n_groups, block_size, output_dim))
    outputs = ops.add(ops.round(ops.divide(grouped, ops.expand_dims(scale, 1))), ops.expand_dims(zero_point, 1))
    outputs = ops.cast(ops.clip(outputs, qmin, qmax), dtype)
    return ops.reshape(outputs, (padded_dim, output_dim))[:input_dim, :], scale, zero_point


@registry.register_builtin(_MODULE)
class AbsMaxQuantizer(Quantizer):
    """A :class:`Quantizer` calling :func:`abs_max_quantize`; ``__call__(x, axis=None, to_numpy=False)``
    returns ``(quantized, scale)``, reducing over ``axis`` (else the constructor's, else -1)."""

    def __init__(self, axis=None, value_range=(-127, 127), epsilon=config.epsilon(), output_dtype="int8"):
        Quantizer.__init__(self, output_dtype=output_dtype)
        if axis is not None:
            self.axis = (axis,) if isinstance(axis, int) else tuple(axis)
        else:
            self.axis = None
        _check_value_range("AbsMaxQuantizer", value_range)
        self.value_range = value_range
        self.epsilon = epsilon
        if output_dtype == "int8" and (value_range[0] < -128 or value_range[1] > 127):
            raise ValueError("Quantizer with output_dtype='int8' requires value_range to be within the "
                             f"interval [-128, 127]. Received: value_range={value_range}")

    def __call__(self, x, axis=None, to_numpy=False):
        if axis is None:
            axis = self.axis if self.axis is not None else -1
        return abs_max_quantize(x, axis, self.value_range, self.output_dtype, self.epsilon, to_numpy)

    def get_config(self):
        config = {"value_range": self.value_range, "epsilon": self.epsilon, "output_dtype": self.output_dtype}
        if self.axis is not None:
            config["axis"] = self.axis
        return config


def _adjust_and_nudge(min_range, max_range, num_bits, narrow_range):
    """TensorFlow's nudged ``[min, max]`` (so 0.0 is exactly representable), its scale and inverse."""
    compute_dtype = "float64" if min_range.dtype == torch.float64 else "float32"
    min_range, max_range = ops.cast(min_range, compute_dtype), ops.cast(max_range, compute_dtype)
    quant_max = (1 << num_bits) - 1
    quant_min = 1 if narrow_range else 0
    diff_range = ops.subtract(max_range, min_range)
    scale = ops.divide(diff_range, quant_max - quant_min)
    inv_scale = ops.divide(quant_max - quant_min, diff_range)
    zero_point = ops.round(ops.clip(quant_min - ops.divide(min_range, scale), quant_min, quant_max))
    nudged_min = ops.multiply(ops.subtract(quant_min, zero_point), scale)
    nudged_max = ops.multiply(ops.subtract(quant_max, zero_point), scale)
    return nudged_min, nudged_max, scale, inv_scale


class _FakeQuant(torch.autograd.Function):
    """Fake quantization with the straight-through gradient: ``inputs`` inside the nudged range pass the
    upstream gradient, those at or beyond ``min``/``max`` send it to ``min_vals``/``max_vals``."""

    @staticmethod
    def forward(ctx, x, min_val, max_val, num_bits, narrow_range, axis):
        nudged_min, nudged_max, scale, inv_scale = _adjust_and_nudge(min_val, max_val, num_bits, narrow_range)
        quant_zero = ops.floor(ops.add(ops.multiply(ops.negative(nudged_min), inv_scale), 0.5))
        shifted = ops.subtract(ops.clip(ops.cast(x, nudged_min.dtype), nudged_min, nudged_max), nudged_min)
        result = ops.multiply(ops.floor(ops.add(ops.subtract(ops.multiply(shifted, inv_scale), quant_zero), 0.5)), scale)
        ctx.save_for_backward(x, nudged_min, nudged_max)
        ctx.min_shape, ctx.max_shape, ctx.axis = tuple(min_val.shape), tuple(max_val.shape), axis
        return ops.cast(result, dtypes.standardize_dtype(x.dtype))

    @staticmethod
    def backward(ctx, upstream):
        x, nudged_min, nudged_max = ctx.saved_tensors
        zero = torch.zeros((), dtype=upstream.dtype, device=upstream.device)
        inside = ops.logical_and(ops.greater_equal(x, nudged_min), ops.less_equal(x, nudged_max))
        dx = torch.where(inside, upstream, zero)
        axes = tuple(i for i in range(dx.ndim) if i != ctx.axis)

        def reduce(mask, shape):
            grad = torch.where(mask, upstream, zero)
            grad = torch.sum(grad, dim=axes) if ctx.axis is not None else torch.sum(grad)
            return torch.reshape(grad, shape)

        grad_min = reduce(ops.less_equal(x, nudged_min), ctx.min_shape)
        grad_max = reduce(ops.greater_equal(x, nudged_max), ctx.max_shape)
        return dx, grad_min, grad_max, None, None, None


def fake_quant_with_min_max_vars(inputs, min_vals, max_vals, num_bits=8, narrow_range=False, axis=None):
    """Per-tensor (``axis=None``) or per-channel fake quantization: clamp ``inputs`` to the nudged
    ``[min_vals, max_vals]``, quantize to ``[0, 2**num_bits - 1]`` (``[1, ...]`` with ``narrow_range``)
    and dequantize. Output: ``inputs``'s shape and dtype. ``min_vals``/``max_vals`` broadcast against
    ``inputs`` as given (shape them, e.g. ``(C, 1)``, for a non-last ``axis``) and receive gradients.
    """
    inputs = ops.convert_to_tensor(inputs)
    min_vals = ops.convert_to_tensor(min_vals)
    max_vals = ops.convert_to_tensor(max_vals)
    if isinstance(num_bits, bool) or not isinstance(num_bits, (int, np.integer)) or not 1 <= int(num_bits) <= 32:
        raise ValueError(f"fake_quant_with_min_max_vars: num_bits must be an int in [1, 32]. Received: num_bits={num_bits!r}")
    num_bits = int(num_bits)
    axis = _check_axis("fake_quant_with_min_max_vars", axis, inputs.ndim)
    return _FakeQuant.apply(inputs, min_vals, max_vals, num_bits, bool(narrow_range), axis)


def compute_float8_scale(amax, scale, dtype_max, margin=0):
    """The next float8 scale (Transformer Engine's rule): ``1 / (dtype_max / amax / 2**margin)``,
    keeping ``scale`` where ``amax`` is not positive or not finite. Shape and dtype of ``scale``."""
    scale = ops.reciprocal(scale)
    amax = ops.convert_to_tensor(amax)
    sf = ops.divide(ops.divide(dtype_max, amax), 2 ** margin)
    sf = ops.where(amax > 0.0, sf, scale)
    sf = ops.where(ops.isfinite(amax), sf, scale)
    return ops.reciprocal(sf)


def compute_float8_amax_history(x, amax_history):
    """``amax_history`` rolled back by one with ``max(|x|)`` (in the history's dtype) written at index 0."""
    amax_history = ops.convert_to_tensor(amax_history)
    amax_update = ops.cast(ops.max(ops.abs(x)), amax_history.dtype)
    new_history = ops.roll(amax_history, shift=-1).clone()
    new_history[0] = amax_update
    return new_history


def quantize_and_dequantize(inputs, scale, quantized_dtype, compute_dtype):
    """``cast(clip(inputs / scale, ±max), quantized_dtype) * scale`` in ``compute_dtype`` (a float8 round
    trip: ``quantized_dtype`` is ``"float8_e4m3fn"`` or ``"float8_e5m2"``)."""
    name = dtypes.standardize_dtype(quantized_dtype)
    if not name.startswith(("float", "bfloat")):
        raise ValueError(f"quantize_and_dequantize: quantized_dtype must be a float dtype such as 'float8_e4m3fn'. "
                         f"Received: quantized_dtype={quantized_dtype!r}")
    dtype_max = ops.cast(float(torch.finfo(dtypes.TORCH_DTYPES[name]).max), compute_dtype)
    x = ops.divide(inputs, ops.cast(scale, compute_dtype))
    x = ops.cast(ops.clip(x, ops.negative(dtype_max), dtype_max), name)
    return ops.multiply(ops.cast(x, compute_dtype), ops.cast(scale, compute_dtype))


def _check_int4_dtype(owner, dtype):
    if dtype not in _INT_DTYPES:
        raise ValueError(f"{owner}: expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")


def pack_int4(arr, axis=0, dtype="int8"):
    """Packs int4 values (int8 in ``[-8, 7]``, or uint8 nibbles) two to a byte along ``axis``: the first
    of each pair in the low nibble, the second in the high one; an odd length is padded with 0.

    Returns:
        ``(packed, packed_shape, orig_len)``: ``packed`` has ``ceil(n / 2)`` along ``axis`` and dtype
        ``dtype``; ``orig_len`` is ``n``, for :func:`unpack_int4`.

    >>> pack_int4(torch.tensor([[-3, 7], [2, -8], [1, 0]], dtype=torch.int8))[0]
    tensor([[  45, -121],
            [   1,    0]], dtype=torch.int8)
    """
    _check_int4_dtype("pack_int4", dtype)
    received = dtypes.standardize_dtype(arr.dtype)
    if received != dtype:
        raise TypeError(f"pack_int4: expected a {dtype} tensor for packing, got {received}.")
    array = ops.convert_to_numpy(arr)
    axis = _check_axis("pack_int4", axis, array.ndim, allow_none=False)
    np_dtype = np.dtype(dtype)
    array = np.moveaxis(array, axis, 0)
    n = array.shape[0]
    if n % 2 == 1:
        array = np.concatenate([array, np.zeros((1,) + array.shape[1:], dtype=array.dtype)], axis=0)
    mask = np.array(0x0F, dtype=np_dtype)
    low = np.bitwise_and(array[::2].astype(np_dtype), mask)
    high = np.bitwise_and(array[1::2].astype(np_dtype), mask)
    packed = np.bitwise_or(low, np.left_shift(high, np.array(4, dtype=np_dtype))).astype(np_dtype)
    packed = np.moveaxis(packed, 0, axis)
    return ops.convert_to_tensor(packed), tuple(packed.shape), n


def unpack_int4(packed, orig_len, axis=0, dtype="int8"):
    """Reverses :func:`pack_int4`: splits each byte into its low and high nibbles along ``axis``
    (sign-extended to ``[-8, 7]`` for int8), then drops padding beyond ``orig_len``."""
    _check_int4_dtype("unpack_int4", dtype)
    packed = ops.convert_to_tensor(packed)
    received = dtypes.standardize_dtype(packed.dtype)
    if received not in _INT_DTYPES:
        raise TypeError(f"unpack_int4: expected an int8 or uint8 tensor for unpacking, got {received}.")
    axis = _check_axis("unpack_int4", axis, packed.ndim, allow_none=False)
    moved = torch.movedim(packed, axis, 0)
    low = torch.bitwise_and(moved, 0x0F)
    high = torch.bitwise_and(torch.bitwise_right_shift(moved, 4), 0x0F)
    if dtype == "int8":
        low, high = (torch.bitwise_xor(t, 8) - 8 for t in (low, high))
    target = dtypes.TORCH_DTYPES[dtype]
    unpacked = torch.stack([low.to(target), high.to(target)], dim=1).reshape((-1,) + tuple(moved.shape[1:]))
    return torch.movedim(unpacked[:orig_len], 0, axis)
