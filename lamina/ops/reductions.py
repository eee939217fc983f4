"""Reductions, scans, sorting and statistics (``keras.ops.numpy``): sum, mean, max, argmax, var,
quantile, the nan* family, cumsum, sort, top values.

``axis`` is None (every axis), an int or a tuple; ``axis=()`` reduces nothing, as in NumPy. Sums of
bools and small integers give int32, means of integers floats, arg-reductions int32 (Keras's rules).
"""

import torch

from lamina.dtypes import result_type
from lamina.ops.keras_op import keras_op
from lamina.ops.tensors import axis_tuple, canonical_axis, dtype_name, floatx, to_tensor, torch_dtype

_SMALL_INTS = (torch.bool, torch.uint8, torch.int8, torch.int16)


def _dims(axis):
    """``axis`` as torch's ``dim`` argument (None for all), or the empty tuple for ``axis=()``."""
    return axis_tuple(axis)


def _stacked(x):
    return torch.stack([to_tensor(v) for v in x]) if isinstance(x, (list, tuple)) else to_tensor(x)


@keras_op("Sum", "numpy", config=("axis", "keepdims"))
def sum(x, axis=None, keepdims=False):  # noqa: A001
    """The sum over ``axis`` (bools and 8/16-bit integers sum to int32)."""
    x = _stacked(x)
    dims = _dims(axis)
    if dims == ():
        return x
    if x.is_floating_point():
        return torch.sum(x) if dims is None else torch.sum(x, dim=dims, keepdim=keepdims)
    dtype = torch.int32 if x.dtype in _SMALL_INTS else x.dtype  # torch would widen integer sums to int64
    return torch.sum(x, dtype=dtype) if dims is None else torch.sum(x, dim=dims, keepdim=keepdims, dtype=dtype)


@keras_op("Mean", "numpy", config=("axis", "keepdims"))
def mean(x, axis=None, keepdims=False):
    """The mean over ``axis`` (integers and bools give floats)."""
    x = _stacked(x)
    dims = _dims(axis)
    if dims == ():
        return x
    if not (x.is_floating_point() or x.is_complex()):
        x = x.to(torch_dtype(result_type(dtype_name(x), "float32")))
    return torch.mean(x) if dims is None else torch.mean(x, dim=dims, keepdim=keepdims)


def _extreme(x, axis, keepdims, initial, reduce_fn, combine_fn, name):
    x = to_tensor(x)
    if x.numel() == 0:
        if initial is None:
            raise ValueError(f"{name}: cannot compute the {name} of an empty tensor without `initial`.")
        return torch.full((1,) * x.ndim if keepdims else (), initial, dtype=x.dtype, device=x.device)
    dims = _dims(axis)
    if dims == ():
        result = x
    elif dims is None:
        result = reduce_fn(x)
        if keepdims:
            result = result.reshape((1,) * x.ndim)
    else:
        result = reduce_fn(x, dim=dims, keepdim=keepdims)
    if initial is not None:
        result = combine_fn(result, torch.tensor(initial, dtype=result.dtype, device=result.device))
    return result


@keras_op("Max", "numpy", config=("axis", "keepdims", "initial"))
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """The maximum over ``axis`` (at least ``initial`` when given)."""
    return _extreme(x, axis, keepdims, initial, torch.amax, torch.maximum, "max")


@keras_op("Min", "numpy", config=("axis", "keepdims", "initial"))
def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """The minimum over ``axis`` (at most ``initial`` when given)."""
    return _extreme(x, axis, keepdims, initial, torch.amin, torch.minimum, "min")


@keras_op("Amax", "numpy", config=("axis", "keepdims"))
def amax(x, axis=None, keepdims=False):
    """The maximum over ``axis``."""
    return _extreme(x, axis, keepdims, None, torch.amax, None, "amax")


@keras_op("Amin", "numpy", config=("axis", "keepdims"))
def amin(x, axis=None, keepdims=False):
    """The minimum over ``axis``."""
    return _extreme(x, axis, keepdims, None, torch.amin, None, "amin")


def _boolean_reduction(torch_fn):
    def compute(x, axis=None, keepdims=False):
        x = to_tensor(x)
        dims = _dims(axis)
        if dims == ():
            return x.bool()
        if dims is None:
            result = torch_fn(x)
            return result.reshape((1,) * x.ndim) if keepdims else result
        return torch_fn(x, dim=dims, keepdim=keepdims)
    return compute


@keras_op("All", "numpy", config=("axis", "keepdims"))
def all(x, axis=None, keepdims=False):  # noqa: A001
    """Whether every element along ``axis`` is true (non-zero)."""
    return _boolean_reduction(torch.all)(x, axis, keepdims)


@keras_op("Any", "numpy", config=("axis", "keepdims"))
def any(x, axis=None, keepdims=False):  # noqa: A001
    """Whether any element along ``axis`` is true (non-zero)."""
    return _boolean_reduction(torch.any)(x, axis, keepdims)


@keras_op("Prod", "numpy", config=("axis", "keepdims", "dtype"))
def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over ``axis`` (bools and 8/16-bit integers multiply in int32)."""
    x = to_tensor(x)
    if dtype is None:
        dtype = torch.int32 if x.dtype in _SMALL_INTS else x.dtype
    else:
        dtype = torch_dtype(dtype)
    dims = _dims(axis)
    if dims is None:
        result = torch.prod(x, dtype=dtype)
        return result.reshape((1,) * x.ndim) if keepdims else result
    for dim in sorted((canonical_axis(a, x.ndim) for a in dims), reverse=True):
        x = torch.prod(x, dim=dim, keepdim=keepdims, dtype=dtype)
    return x.to(dtype)


def _float_result(x):
    """Keras's ``result_type(x, float)`` as a torch dtype (integers give floatx)."""
    return torch_dtype(result_type(dtype_name(x), float))


def _moment_dtype(x):
    """(compute, result) dtypes of variances and quantiles: at least float32 inside, Keras's float result."""
    return torch_dtype(result_type(dtype_name(x), "float32")), _float_result(x)


@keras_op("Var", "numpy", config=("axis", "keepdims"))
def var(x, axis=None, keepdims=False):
    """The (biased, NumPy's) variance over ``axis``."""
    x = to_tensor(x)
    compute, result = _moment_dtype(x)
    dims = _dims(axis)
    if dims == ():
        return torch.zeros_like(x, dtype=result)
    return torch.var(x.to(compute), dim=dims, keepdim=keepdims, correction=0).to(result)


@keras_op("Std", "numpy", config=("axis", "keepdims"))
def std(x, axis=None, keepdims=False):
    """The (biased, NumPy's) standard deviation over ``axis``."""
    x = to_tensor(x)
    if not x.is_floating_point():
        x = x.to(torch.float32)
    return torch.std(x, dim=_dims(axis), keepdim=keepdims, correction=0)


def _arg_reduction(torch_fn):
    def compute(x, axis=None, keepdims=False):
        x = to_tensor(x)
        if x.dtype is torch.bool:
            x = x.to(torch.uint8)
        result = torch_fn(x, dim=axis, keepdim=keepdims)
        if axis is None and keepdims:
            result = result.reshape((1,) * x.ndim)
        return result.to(torch.int32)
    return compute


@keras_op("Argmax", "numpy", config=("axis", "keepdims"))
def argmax(x, axis=None, keepdims=False):
    """The index of the maximum along ``axis`` (of the flattened tensor for None), int32."""
    return _arg_reduction(torch.argmax)(x, axis, keepdims)


@keras_op("Argmin", "numpy", config=("axis", "keepdims"))
def argmin(x, axis=None, keepdims=False):
    """The index of the minimum along ``axis`` (of the flattened tensor for None), int32."""
    return _arg_reduction(torch.argmin)(x, axis, keepdims)


def _nan_arg(x, axis, keepdims, fill, reduction):
    x = to_tensor(x)
    if not x.is_floating_point():
        return reduction(x, axis, keepdims)
    nan = torch.isnan(x)
    index = reduction(torch.where(nan, fill, x), axis, keepdims)
    all_nan = nan.all() if axis is None else nan.all(dim=axis, keepdim=keepdims)
    if axis is None and keepdims:
        all_nan = all_nan.reshape((1,) * x.ndim)
    return torch.where(all_nan, torch.tensor(-1, dtype=torch.int32, device=x.device), index)


@keras_op("Nanargmax", "numpy", config=("axis", "keepdims"))
def nanargmax(x, axis=None, keepdims=False):
    """``argmax`` ignoring NaN (-1 where a slice is all NaN)."""
    return _nan_arg(x, axis, keepdims, float("-inf"), _arg_reduction(torch.argmax))


@keras_op("Nanargmin", "numpy", config=("axis", "keepdims"))
def nanargmin(x, axis=None, keepdims=False):
    """``argmin`` ignoring NaN (-1 where a slice is all NaN)."""
    return _nan_arg(x, axis, keepdims, float("inf"), _arg_reduction(torch.argmin))


def _nan_extreme(x, axis, keepdims, fill, torch_fn):
    x = to_tensor(x)
    dims = _dims(axis)
    if not x.is_floating_point():
        return _extreme(x, axis, keepdims, None, torch_fn, None, "nan-reduction")
    if dims == ():
        return x
    nan = torch.isnan(x)
    result = _extreme(torch.where(nan, fill, x), axis, keepdims, None, torch_fn, None, "nan-reduction")
    all_nan = _boolean_reduction(torch.all)(nan, axis, keepdims)
    return torch.where(all_nan, torch.tensor(float("nan"), dtype=x.dtype, device=x.device), result)


@keras_op("Nanmax", "numpy", config=("axis", "keepdims"))
def nanmax(x, axis=None, keepdims=False):
    """The maximum ignoring NaN (NaN where a slice is all NaN)."""
    return _nan_extreme(x, axis, keepdims, float("-inf"), torch.amax)


@keras_op("Nanmin", "numpy", config=("axis", "keepdims"))
def nanmin(x, axis=None, keepdims=False):
    """The minimum ignoring NaN (NaN where a slice is all NaN)."""
    return _nan_extreme(x, axis, keepdims, float("inf"), torch.amin)


@keras_op("Nansum", "numpy", config=("axis", "keepdims"))
def nansum(x, axis=None, keepdims=False):
    """The sum treating NaN as 0."""
    x = _stacked(x)
    return sum(torch.nan_to_num(x, nan=0.0) if x.is_floating_point() else x, axis=axis, keepdims=keepdims)


@keras_op("Nanprod", "numpy", config=("axis", "keepdims"))
def nanprod(x, axis=None, keepdims=False):
    """The product treating NaN as 1."""
    x = to_tensor(x)
    if x.is_floating_point():
        x = torch.where(torch.isnan(x), torch.ones((), dtype=x.dtype, device=x.device), x)
    if _dims(axis) == ():
        return x
    return prod(x, axis=axis, keepdims=keepdims)


@keras_op("Nanmean", "numpy", config=("axis", "keepdims"))
def nanmean(x, axis=None, keepdims=False):
    """The mean of the non-NaN elements."""
    x = to_tensor(x)
    if _dims(axis) == ():
        return x
    return torch.nanmean(x.to(_float_result(x)), dim=_dims(axis), keepdim=keepdims)


@keras_op("Nanvar", "numpy", config=("axis", "keepdims"))
def nanvar(x, axis=None, keepdims=False):
    """The (biased) variance of the non-NaN elements."""
    x = to_tensor(x)
    x = x.to(_float_result(x))
    dims = _dims(axis)
    if dims == ():
        return torch.where(torch.isnan(x), x, torch.zeros((), dtype=x.dtype, device=x.device))
    valid = ~torch.isnan(x)
    centered = torch.where(valid, x - torch.nanmean(x, dim=dims, keepdim=True), 0.0)
    count = valid.sum(dim=dims, keepdim=keepdims)
    return centered.square().sum(dim=dims, keepdim=keepdims) / count


@keras_op("Nanstd", "numpy", config=("axis", "keepdims"))
def nanstd(x, axis=None, keepdims=False):
    """The (biased) standard deviation of the non-NaN elements."""
    return torch.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def _quantile(x, q, axis, method, keepdims, torch_fn):
    """``torch.quantile``/``nanquantile`` over several axes, with NumPy's ``keepdims``."""
    x = to_tensor(x)
    compute, result = _moment_dtype(x)
    x = x.to(compute)
    q = to_tensor(q, dtype=compute, device=x.device)
    dims = _dims(axis)
    if dims is None:
        flat = x.reshape(-1)
    else:
        dims = sorted(canonical_axis(a, x.ndim) for a in dims)
        others = [d for d in range(x.ndim) if d not in dims]
        flat = x.permute(others + dims).reshape([x.shape[d] for d in others] + [-1])
    y = torch_fn(flat, q, dim=-1, interpolation=method)
    if keepdims:
        offset = 1 if q.ndim else 0
        for d in (range(x.ndim) if dims is None else dims):
            y = y.unsqueeze(d + offset)
    return y.to(result)


@keras_op("Quantile", "numpy", config=("axis", "method", "keepdims"))
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantile(s) (``q`` in [0, 1]) over ``axis``; a tensor ``q`` adds a leading axis."""
    return _quantile(x, q, axis, method, keepdims, torch.quantile)


@keras_op("Nanquantile", "numpy", config=("axis", "method", "keepdims"))
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """``quantile`` ignoring NaN."""
    return _quantile(x, q, axis, method, keepdims, torch.nanquantile)


@keras_op("Percentile", "numpy", config=("axis", "method", "keepdims"))
def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th percentile(s) (``q`` in [0, 100]) over ``axis``."""
    return _quantile(x, to_tensor(q, dtype=floatx()) / 100.0, axis, method, keepdims, torch.quantile)


@keras_op("Nanpercentile", "numpy", config=("axis", "method", "keepdims"))
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """``percentile`` ignoring NaN."""
    return _quantile(x, to_tensor(q, dtype=floatx()) / 100.0, axis, method, keepdims, torch.nanquantile)


@keras_op("Median", "numpy", config=("axis", "keepdims"))
def median(x, axis=None, keepdims=False):
    """The median over ``axis`` (the mean of the two middle values for even counts)."""
    return _quantile(x, 0.5, axis, "linear", keepdims, torch.quantile)


@keras_op("Nanmedian", "numpy", config=("axis", "keepdims"))
def nanmedian(x, axis=None, keepdims=False):
    """``median`` ignoring NaN."""
    if _dims(axis) == ():
        return to_tensor(x)
    return _quantile(x, 0.5, axis, "linear", keepdims, torch.nanquantile)


@keras_op("Ptp", "numpy", config=("axis", "keepdims"))
def ptp(x, axis=None, keepdims=False):
    """``max - min`` over ``axis`` (peak to peak)."""
    x = to_tensor(x)
    if _dims(axis) == ():
        return torch.zeros_like(x)
    return amax(x, axis, keepdims) - amin(x, axis, keepdims)


@keras_op("Average", "numpy", config=("axis",), call_kwargs=("weights",))
def average(x, axis=None, weights=None):
    """The (``weights``-weighted) mean over ``axis``; ``weights`` is 1-D along ``axis`` or of ``x``'s shape."""
    x = to_tensor(x)
    types = [dtype_name(x), float]
    if weights is not None:
        weights = to_tensor(weights, device=x.device)
        types.append(dtype_name(weights))
    dtype = torch_dtype(result_type(*types))
    x = x.to(dtype)
    if _dims(axis) == ():
        return x
    if weights is None:
        return torch.mean(x) if axis is None else torch.mean(x, dim=axis)
    weights = weights.to(dtype)
    if axis is not None and weights.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        weights = weights.reshape(shape)
        return torch.sum(x * weights, dim=axis) / torch.sum(weights)
    if axis is None:
        return torch.sum(x * weights) / torch.sum(weights)
    return torch.sum(x * weights, dim=axis) / torch.sum(weights, dim=axis)


@keras_op("CountNonzero", "numpy", config=("axis",))
def count_nonzero(x, axis=None):
    """The number of non-zero elements over ``axis``, int32."""
    x = to_tensor(x)
    dims = _dims(axis)
    if dims == ():
        return torch.ne(x, 0).to(torch.int32)
    return torch.count_nonzero(x, dim=dims).to(torch.int32)


def _scan_dtype(x, dtype):
    dtype = torch_dtype(dtype) if dtype is not None else x.dtype
    return torch.int32 if dtype is torch.bool else dtype


@keras_op("Cumsum", "numpy", config=("axis", "dtype"))
def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (of the flattened tensor for None)."""
    x = to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.cumsum(x, dim=axis, dtype=_scan_dtype(x, dtype))


@keras_op("Cumprod", "numpy", config=("axis", "dtype"))
def cumprod(x, axis=None, dtype=None):
    """Cumulative product along ``axis`` (of the flattened tensor for None)."""
    x = to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.cumprod(x, dim=axis, dtype=_scan_dtype(x, dtype))


@keras_op("Nancumsum", "numpy", config=("axis", "dtype"))
def nancumsum(x, axis=None, dtype=None):
    """``cumsum`` treating NaN as 0."""
    return cumsum(torch.nan_to_num(to_tensor(x), nan=0.0), axis=axis, dtype=dtype)


@keras_op("Nancumprod", "numpy", config=("axis", "dtype"))
def nancumprod(x, axis=None, dtype=None):
    """``cumprod`` treating NaN as 1."""
    return cumprod(torch.nan_to_num(to_tensor(x), nan=1.0), axis=axis, dtype=dtype)


@keras_op("Sort", "numpy", config=("axis",))
def sort(x, axis=-1):
    """``x`` sorted ascending along ``axis`` (the flattened tensor for None)."""
    x = to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.sort(x, dim=axis).values


@keras_op("Argsort", "numpy", config=("axis",))
def argsort(x, axis=-1):
    """Indices that sort ``x`` along ``axis`` (stable), int32."""
    x = to_tensor(x)
    if x.dtype is torch.bool:
        x = x.to(torch.uint8)
    if axis is None:
        x, axis = x.reshape(-1), -1
    return torch.argsort(x, dim=axis, stable=True).to(torch.int32)


@keras_op("Argpartition", "numpy", config=("kth", "axis"))
def argpartition(x, kth, axis=-1):
    """Indices that partition ``x`` along ``axis``: the ``kth`` smallest first (in order), then the rest."""
    x = to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), -1
    moved = torch.movedim(x, axis, -1)
    order = torch.argsort(moved, dim=-1, stable=True)
    return torch.movedim(order, -1, axis).to(torch.int32)


@keras_op("Logsumexp", "math", config=("axis", "keepdims"))
def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, computed stably."""
    x = to_tensor(x)
    dims = tuple(range(x.ndim)) if axis is None else axis
    return torch.logsumexp(x, dim=dims, keepdim=keepdims)
