"""Creating, reshaping, joining, splitting and indexing tensors (``keras.ops.numpy``).

Creation functions without tensor arguments (``zeros``, ``arange``, ``eye``...) run eagerly even in a
functional model, as in Keras, on torch's default device (``torch.set_default_device`` or a
``with torch.device(...)`` block choose it); ``*_like`` functions follow their argument.
"""

import builtins
import math

import numpy as np
import torch
import torch.nn.functional as F

from lamina.dtypes import result_type
from lamina.ops.keras_op import keras_op
from lamina.ops.tensors import axis_tuple, canonical_axis, dtype_name, floatx, to_tensor, torch_dtype
from lamina.symbolic.keras_tensor import KerasTensor


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)


def _dtype_or_floatx(dtype):
    return floatx() if dtype is None else torch_dtype(dtype)


# ---------------------------------------------------------------------------------- creation
def zeros(shape, dtype=None):
    """A tensor of zeros (floatx by default)."""
    return torch.zeros(_shape(shape), dtype=_dtype_or_floatx(dtype))


def ones(shape, dtype=None):
    """A tensor of ones (floatx by default)."""
    return torch.ones(_shape(shape), dtype=_dtype_or_floatx(dtype))


def empty(shape, dtype=None):
    """An uninitialized tensor (floatx by default)."""
    return torch.empty(_shape(shape), dtype=_dtype_or_floatx(dtype))


@keras_op("Full", "numpy", config=("shape", "dtype"))
def full(shape, fill_value, dtype=None):
    """A tensor of ``shape`` filled with ``fill_value`` (a scalar or a tensor broadcast to ``shape``)."""
    if isinstance(fill_value, torch.Tensor) and fill_value.ndim:
        return torch.broadcast_to(fill_value, _shape(shape)).to(torch_dtype(dtype) if dtype else fill_value.dtype)
    value = to_tensor(fill_value, dtype=dtype)
    return torch.full(_shape(shape), value.item() if not isinstance(fill_value, (int, float, bool)) else fill_value,
                      dtype=value.dtype)


def _like(torch_fn):
    def compute(x, dtype=None):
        x = to_tensor(x)
        return torch_fn(x, dtype=torch_dtype(dtype) if dtype is not None else x.dtype)
    return compute


@keras_op("ZerosLike", "numpy", config=("dtype",))
def zeros_like(x, dtype=None):
    """Zeros with the shape (and dtype, unless given) of ``x``."""
    return _like(torch.zeros_like)(x, dtype)


@keras_op("OnesLike", "numpy", config=("dtype",))
def ones_like(x, dtype=None):
    """Ones with the shape (and dtype, unless given) of ``x``."""
    return _like(torch.ones_like)(x, dtype)


@keras_op("EmptyLike", "numpy", config=("dtype",))
def empty_like(x, dtype=None):
    """An uninitialized tensor with the shape (and dtype, unless given) of ``x``."""
    return _like(torch.empty_like)(x, dtype)


@keras_op("FullLike", "numpy", config=("dtype",))
def full_like(x, fill_value, dtype=None):
    """``fill_value`` with the shape (and dtype, unless given) of ``x``."""
    x = to_tensor(x)
    return full(tuple(x.shape), fill_value, dtype=dtype if dtype is not None else x.dtype).to(x.device)


def eye(N, M=None, k=0, dtype=None):  # noqa: N803  (NumPy's names)
    """An ``(N, M)`` matrix with ones on the ``k``-th diagonal."""
    M = N if M is None else M
    dtype = _dtype_or_floatx(dtype)
    if not k:
        return torch.eye(N, M, dtype=dtype)
    return torch.diag(torch.ones(builtins.max(N, M), dtype=dtype), diagonal=k)[:N, :M]


def identity(n, dtype=None):
    """The ``(n, n)`` identity matrix."""
    return torch.eye(n, dtype=_dtype_or_floatx(dtype))


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    """An ``(N, M)`` matrix with ones at and below the ``k``-th diagonal."""
    return torch.tril(torch.ones((N, N if M is None else M), dtype=_dtype_or_floatx(dtype)), diagonal=k)


@keras_op("Arange", "numpy", config=("dtype",), call_kwargs=("step",))
def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) (``arange(n)``: 0..n-1); the dtype follows the arguments."""
    if dtype is None:
        dtype = result_type(*[getattr(v, "dtype", type(v)) for v in (start, stop, step) if v is not None])
    if stop is None:
        start, stop = 0, start
    return torch.arange(_scalar(start), _scalar(stop), 1 if step is None else _scalar(step), dtype=torch_dtype(dtype))


def _scalar(value):
    return value.item() if isinstance(value, (torch.Tensor, np.ndarray)) else value


@keras_op("Array", "numpy", config=("dtype",))
def array(x, dtype=None):
    """``x`` as a tensor (of ``dtype`` when given)."""
    return to_tensor(x, dtype=dtype)


@keras_op("Copy", "numpy")
def copy(x):
    """A copy of ``x``."""
    return torch.clone(to_tensor(x))


def _spaced_dtype(start, stop, dtype):
    if dtype is not None:
        return torch_dtype(dtype)
    return torch_dtype(result_type(getattr(start, "dtype", type(start)), getattr(stop, "dtype", type(stop)), float))


def _spaced(start, stop, num, endpoint, dtype, axis):
    """``num`` points from start to stop (inclusive when ``endpoint``), start/stop scalars or tensors."""
    if isinstance(start, torch.Tensor) and start.ndim or isinstance(stop, torch.Tensor) and stop.ndim or \
            isinstance(start, (list, tuple, np.ndarray)) or isinstance(stop, (list, tuple, np.ndarray)):
        start, stop = to_tensor(start, dtype=dtype), to_tensor(stop, dtype=dtype)
        divisor = (num - 1) if endpoint else num
        steps = torch.arange(num, dtype=dtype) / builtins.max(divisor, 1)
        steps = steps.reshape((-1,) + (1,) * builtins.max(start.ndim, stop.ndim))
        result = start[None] + steps * (stop - start)[None]
        return torch.movedim(result, 0, axis) if axis else result
    start, stop = _scalar(start), _scalar(stop)
    if not endpoint:
        stop = start + (stop - start) * (num - 1) / num if num > 0 else stop
    return torch.linspace(start, stop, num, dtype=torch.float64 if dtype.is_floating_point else dtype).to(dtype)


@keras_op("Linspace", "numpy", config=("num", "endpoint", "retstep", "dtype", "axis"))
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values over [start, stop] (or [start, stop) without ``endpoint``)."""
    dtype = _spaced_dtype(start, stop, dtype)
    result = _spaced(start, stop, num, endpoint, dtype, axis)
    if retstep:
        divisor = (num - 1) if endpoint else num
        step = (to_tensor(stop, dtype=dtype) - to_tensor(start, dtype=dtype)) / divisor if divisor > 0 \
            else torch.tensor(float("nan"), dtype=dtype)
        return result, step
    return result


@keras_op("Logspace", "numpy", config=("num", "endpoint", "base", "dtype", "axis"))
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)``."""
    dtype = _spaced_dtype(start, stop, dtype)
    exponents = _spaced(start, stop, num, endpoint, torch.float64 if dtype.is_floating_point else dtype, axis)
    return torch.pow(base, exponents).to(dtype)


@keras_op("Geomspace", "numpy", config=("num", "endpoint", "dtype", "axis"))
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` values evenly spaced on a log scale from start to stop (a geometric progression)."""
    dtype = _spaced_dtype(start, stop, dtype)
    start_t, stop_t = to_tensor(start, dtype=torch.float64), to_tensor(stop, dtype=torch.float64)
    exponents = _spaced(torch.log10(start_t.abs()), torch.log10(stop_t.abs()), num, endpoint, torch.float64, axis)
    result = torch.pow(10.0, exponents) * torch.sign(start_t)
    return result.to(dtype)


@keras_op("Meshgrid", "numpy", config=("indexing",))
def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D tensors (``indexing`` "xy": Cartesian, "ij": matrix)."""
    return list(torch.meshgrid(*[to_tensor(v) for v in x], indexing=indexing))


def _window(torch_fn):
    def compute(x, **kwargs):
        return torch_fn(int(_scalar(x)), sym=True, dtype=floatx(), **kwargs)
    return compute


def bartlett(x):
    """The Bartlett (triangular) window of length ``x``."""
    return _window(torch.signal.windows.bartlett)(x)


def blackman(x):
    """The Blackman window of length ``x``."""
    return _window(torch.signal.windows.blackman)(x)


def hamming(x):
    """The Hamming window of length ``x``."""
    return _window(torch.signal.windows.hamming)(x)


def hanning(x):
    """The Hann window of length ``x``."""
    return _window(torch.signal.windows.hann)(x)


def kaiser(x, beta):
    """The Kaiser window of length ``x`` and shape ``beta``."""
    return torch.signal.windows.kaiser(int(_scalar(x)), beta=float(beta), sym=True, dtype=floatx())


@keras_op("Diag", "numpy", config=("k",))
def diag(x, k=0):
    """The ``k``-th diagonal of a matrix, or a matrix with ``x`` (1-D) on its ``k``-th diagonal."""
    return torch.diag(to_tensor(x), diagonal=k)


@keras_op("Diagflat", "numpy", config=("k",))
def diagflat(x, k=0):
    """A matrix with the flattened ``x`` on its ``k``-th diagonal."""
    return torch.diagflat(to_tensor(x), offset=k)


@keras_op("Diagonal", "numpy", config=("offset", "axis1", "axis2"))
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal over axes ``axis1``/``axis2``, as the last axis."""
    return torch.diagonal(to_tensor(x), offset=offset, dim1=axis1, dim2=axis2)


@keras_op("Trace", "numpy", config=("offset", "axis1", "axis2"))
def trace(x, offset=0, axis1=0, axis2=1):
    """The sum along the ``offset`` diagonal (small integers and bools sum to int32)."""
    x = to_tensor(x)
    dtype = torch.int32 if x.dtype in (torch.bool, torch.int8, torch.int16, torch.uint8) else x.dtype
    return torch.sum(torch.diagonal(x, offset, axis1, axis2), dim=-1, dtype=dtype)


@keras_op("Tril", "numpy", config=("k",))
def tril(x, k=0):
    """``x`` with the elements above the ``k``-th diagonal zeroed."""
    return torch.tril(to_tensor(x), diagonal=k)


@keras_op("Triu", "numpy", config=("k",))
def triu(x, k=0):
    """``x`` with the elements below the ``k``-th diagonal zeroed."""
    return torch.triu(to_tensor(x), diagonal=k)


@keras_op("Vander", "numpy", config=("N", "increasing"))
def vander(x, N=None, increasing=False):  # noqa: N803
    """The Vandermonde matrix of the 1-D ``x`` (``N`` columns)."""
    x = to_tensor(x)
    return torch.vander(x, N=N, increasing=increasing).to(x.dtype)


# ------------------------------------------------------------------------------------- shapes
@keras_op("Reshape", "numpy", config=("newshape",))
def reshape(x, newshape):
    """``x`` with shape ``newshape`` (one entry may be -1)."""
    if isinstance(newshape, torch.Tensor):
        newshape = newshape.tolist()
    return torch.reshape(to_tensor(x), (newshape,) if isinstance(newshape, int) else tuple(newshape))


@keras_op("Transpose", "numpy", config=("axes",))
def transpose(x, axes=None):
    """``x`` with its axes permuted (reversed by default)."""
    x = to_tensor(x)
    return x.permute(*axes) if axes is not None else x.permute(*range(x.ndim - 1, -1, -1))


@keras_op("ExpandDims", "numpy", config=("axis",))
def expand_dims(x, axis):
    """``x`` with new axes of size 1 inserted at ``axis`` (an int or a tuple)."""
    x = to_tensor(x)
    axes = axis_tuple(axis)
    rank = x.ndim + len(axes)
    for a in sorted(canonical_axis(a, rank) for a in axes):
        x = x.unsqueeze(a)
    return x


@keras_op("Squeeze", "numpy", config=("axis",))
def squeeze(x, axis=None):
    """``x`` without its axes of size 1 (only ``axis`` when given; it must have size 1)."""
    x = to_tensor(x)
    if axis is None:
        return torch.squeeze(x)
    axes = axis_tuple(axis)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: cannot squeeze axis {a} of size {x.shape[a]} (shape {tuple(x.shape)}).")
    return torch.squeeze(x, dim=axes)


@keras_op("Ravel", "numpy")
def ravel(x):
    """``x`` flattened to 1-D."""
    return torch.ravel(to_tensor(x))


@keras_op("Flip", "numpy", config=("axis",))
def flip(x, axis=None):
    """``x`` reversed along ``axis`` (every axis by default)."""
    x = to_tensor(x)
    return torch.flip(x, dims=tuple(range(x.ndim)) if axis is None else axis_tuple(axis))


@keras_op("Fliplr", "numpy")
def fliplr(x):
    """``x`` reversed along axis 1."""
    return torch.fliplr(to_tensor(x))


@keras_op("Flipud", "numpy")
def flipud(x):
    """``x`` reversed along axis 0."""
    return torch.flipud(to_tensor(x))


@keras_op("Rot90", "numpy", config=("k", "axes"))
def rot90(array, k=1, axes=(0, 1)):
    """``array`` rotated ``k`` times by 90 degrees in the plane of ``axes``."""
    array = to_tensor(array)
    if array.ndim < 2:
        raise ValueError(f"rot90: the input must have at least 2 dimensions. Received: shape={tuple(array.shape)}")
    return torch.rot90(array, k=k, dims=tuple(axes))


@keras_op("Moveaxis", "numpy", config=("source", "destination"))
def moveaxis(x, source, destination):
    """``x`` with axes ``source`` moved to ``destination``."""
    return torch.movedim(to_tensor(x), source, destination)


@keras_op("Swapaxes", "numpy", config=("axis1", "axis2"))
def swapaxes(x, axis1, axis2):
    """``x`` with ``axis1`` and ``axis2`` exchanged."""
    return torch.swapaxes(to_tensor(x), axis1, axis2)


@keras_op("BroadcastTo", "numpy", config=("shape",))
def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (a view)."""
    return torch.broadcast_to(to_tensor(x), _shape(shape))


@keras_op("Tile", "numpy", config=("repeats",))
def tile(x, repeats):
    """``x`` repeated ``repeats`` times along each axis."""
    if isinstance(repeats, torch.Tensor):
        repeats = repeats.tolist()
    return torch.tile(to_tensor(x), (repeats,) if isinstance(repeats, int) else tuple(repeats))


def _repeat_spec(x, repeats, axis=None):
    if not isinstance(repeats, (int, list, tuple)):
        length = None
    elif axis is None:
        total = math.prod(d for d in x.shape) if None not in x.shape else None
        length = None if total is None else total * repeats if isinstance(repeats, int) else builtins.sum(repeats)
        return KerasTensor((length,), dtype=x.dtype)
    else:
        size_ = x.shape[axis]
        length = builtins.sum(repeats) if not isinstance(repeats, int) else None if size_ is None else size_ * repeats
    shape = list(x.shape)
    shape[axis] = length
    return KerasTensor(tuple(shape), dtype=x.dtype)


@keras_op("Repeat", "numpy", config=("repeats", "axis"), output_spec=_repeat_spec)
def repeat(x, repeats, axis=None):
    """Each element of ``x`` repeated ``repeats`` times along ``axis`` (of the flattened ``x`` for None)."""
    x = to_tensor(x)
    if isinstance(repeats, int) and axis is not None:  # expand + reshape: a static output shape
        axis = canonical_axis(axis, x.ndim)
        expanded = x.unsqueeze(axis + 1).expand(*x.shape[:axis + 1], repeats, *x.shape[axis + 1:])
        return expanded.reshape(*x.shape[:axis], x.shape[axis] * repeats, *x.shape[axis + 1:])
    if not isinstance(repeats, (int, list, tuple)):
        repeats = to_tensor(repeats, dtype=torch.int64, device=x.device)
    return torch.repeat_interleave(x, repeats if not isinstance(repeats, list) else torch.tensor(repeats), dim=axis)


@keras_op("Roll", "numpy", config=("shift", "axis"))
def roll(x, shift, axis=None):
    """``x`` shifted cyclically by ``shift`` along ``axis`` (the flattened ``x`` for None)."""
    return torch.roll(to_tensor(x), shift, dims=axis)


@keras_op("Ndim", "numpy")
def ndim(x):
    """The rank of ``x``, as a Python int."""
    return to_tensor(x).ndim


def _size_spec(x):
    return KerasTensor((), dtype="int64")


@keras_op("Size", "numpy", output_spec=_size_spec)
def size(x):
    """The number of elements of ``x``, as an int64 tensor."""
    return torch.tensor(math.prod(to_tensor(x).shape), dtype=torch.int64)


# --------------------------------------------------------------------------- joining, splitting
def _tensors(xs):
    tensors = [v for v in xs if isinstance(v, torch.Tensor)]
    device = tensors[0].device if tensors else None
    return [to_tensor(v, device=device) for v in xs]


@keras_op("Concatenate", "numpy", config=("axis",))
def concatenate(xs, axis=0):
    """The tensors ``xs`` joined along ``axis``."""
    return torch.cat(_tensors(xs), dim=axis)


@keras_op("Stack", "numpy", config=("axis",))
def stack(x, axis=0):
    """The tensors ``x`` stacked along a new ``axis``."""
    return torch.stack(_tensors(x), dim=axis)


@keras_op("Hstack", "numpy")
def hstack(xs):
    """The tensors joined along axis 1 (axis 0 for 1-D)."""
    return torch.hstack(_tensors(xs))


@keras_op("Vstack", "numpy")
def vstack(xs):
    """The tensors joined along axis 0 (1-D ones as rows)."""
    return torch.vstack(_tensors(xs))


@keras_op("Dstack", "numpy")
def dstack(xs):
    """The tensors joined along axis 2."""
    return torch.dstack(_tensors(xs))


@keras_op("Append", "numpy", config=("axis",))
def append(x1, x2, axis=None):
    """``x2`` appended to ``x1`` along ``axis`` (both flattened for None)."""
    x1, x2 = _tensors([x1, x2])
    if axis is None:
        return torch.cat((x1.reshape(-1), x2.reshape(-1)))
    return torch.cat((x1, x2), dim=axis)


def _sections(indices_or_sections):
    if isinstance(indices_or_sections, (torch.Tensor, np.ndarray)):
        return [int(i) for i in indices_or_sections.tolist()]
    return indices_or_sections if isinstance(indices_or_sections, int) else list(indices_or_sections)


@keras_op("Split", "numpy", config=("indices_or_sections", "axis"))
def split(x, indices_or_sections, axis=0):
    """``x`` split along ``axis`` into equal sections (an int) or at the given indices."""
    x = to_tensor(x)
    sections = _sections(indices_or_sections)
    if isinstance(sections, int) and x.shape[axis] % sections:
        raise ValueError(f"split: x.shape[{axis}]={x.shape[axis]} is not divisible by indices_or_sections="
                         f"{sections}. Full input shape: {tuple(x.shape)}")
    return list(torch.tensor_split(x, sections, dim=axis))


@keras_op("ArraySplit", "numpy", config=("indices_or_sections", "axis"))
def array_split(x, indices_or_sections, axis=0):
    """``x`` split along ``axis`` into nearly equal sections (or at the given indices)."""
    return list(torch.tensor_split(to_tensor(x), _sections(indices_or_sections), dim=axis))


@keras_op("Hsplit", "numpy", config=("indices_or_sections",))
def hsplit(x, indices_or_sections):
    """``split`` along axis 1 (axis 0 for 1-D)."""
    return list(torch.hsplit(to_tensor(x), _sections(indices_or_sections)))


@keras_op("Vsplit", "numpy", config=("indices_or_sections",))
def vsplit(x, indices_or_sections):
    """``split`` along axis 0."""
    return list(torch.vsplit(to_tensor(x), _sections(indices_or_sections)))


@keras_op("Dsplit", "numpy", config=("indices_or_sections",))
def dsplit(x, indices_or_sections):
    """``split`` along axis 2."""
    return list(torch.dsplit(to_tensor(x), _sections(indices_or_sections)))


def _symmetric_pad(x, pairs):
    """NumPy's "symmetric" padding (edge values repeated), axis by axis through concatenation."""
    for axis, (before, after) in enumerate(pairs):
        if before or after:
            parts = []
            if before:
                parts.append(torch.flip(x.narrow(axis, 0, before), (axis,)))
            parts.append(x)
            if after:
                parts.append(torch.flip(x.narrow(axis, x.shape[axis] - after, after), (axis,)))
            x = torch.cat(parts, dim=axis)
    return x


@keras_op("Pad", "numpy", config=("pad_width", "mode"), call_kwargs=("constant_values",))
def pad(x, pad_width, mode="constant", constant_values=None):
    """``x`` padded by ``pad_width`` ((before, after) per axis, or one pair / one int for every axis).

    ``mode``: "constant" (``constant_values``, default 0), "reflect", "symmetric", "edge"/"replicate"
    ("edge" repeats the border value), "circular"/"wrap".
    """
    x = to_tensor(x)
    if constant_values is not None and mode != "constant":
        raise ValueError(f"pad: `constant_values` can only be given with mode='constant'. Received: mode={mode!r}")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.ndim(pad_width) else
                             np.full((1, 2), pad_width), (x.ndim, 2)).tolist()
    if mode == "symmetric":
        return _symmetric_pad(x, widths)
    flat = [value for pair in reversed(widths) for value in pair]
    while flat and not flat[-1] and not flat[-2]:
        flat = flat[:-2]  # torch pads the last axes; drop untouched leading ones
    if mode == "constant":
        return F.pad(x, flat, mode="constant", value=0 if constant_values is None else constant_values)
    torch_mode = {"edge": "replicate", "wrap": "circular"}.get(mode, mode)
    if torch_mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: unknown mode {mode!r}. Expected 'constant', 'reflect', 'symmetric', 'edge' or "
                         "'wrap'.")
    padded_axes = len(flat) // 2
    # torch's non-constant modes want a (batch, channel, *padded) float layout.
    lead = x.shape[:x.ndim - padded_axes]
    work = x.reshape((1, -1) + tuple(x.shape[x.ndim - padded_axes:]))
    work = F.pad(work if work.is_floating_point() else work.to(torch.float32), flat, mode=torch_mode)
    return work.reshape(tuple(lead) + tuple(work.shape[2:])).to(x.dtype)


# ----------------------------------------------------------------------------------- indexing
@keras_op("GetItem", "numpy")
def get_item(x, key):
    """``x[key]`` (NumPy indexing: ints, slices, None, Ellipsis, tensors)."""
    return to_tensor(x)[key]


@keras_op("Take", "numpy", config=("axis",))
def take(x, indices, axis=None):
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened ``x`` for None); negative
    indices count from the end."""
    x = to_tensor(x)
    indices = to_tensor(indices, device=x.device).long()
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = canonical_axis(axis, x.ndim)
    indices = torch.where(indices < 0, indices + x.shape[axis], indices)
    if x.ndim == 2 and axis == 0:
        return F.embedding(indices, x)  # the embedding lookup kernel
    flat = torch.index_select(x, axis, indices.reshape(-1))
    return flat.reshape(x.shape[:axis] + indices.shape + x.shape[axis + 1:])


@keras_op("TakeAlongAxis", "numpy", config=("axis",))
def take_along_axis(x, indices, axis=None):
    """Elements of ``x`` at ``indices`` along ``axis`` (indices broadcast against ``x``)."""
    x = to_tensor(x)
    indices = to_tensor(indices, device=x.device).long()
    if axis is None:
        x, axis = x.reshape(-1), 0
    indices = torch.where(indices < 0, indices + x.shape[axis], indices)
    return torch.take_along_dim(x, indices, dim=axis)


@keras_op("Where", "numpy")
def where(condition, x1=None, x2=None):
    """``x1`` where ``condition``, else ``x2``; with neither, the indices of true elements."""
    if (x1 is None) != (x2 is None):
        raise ValueError("where: `x1` and `x2` must both be given or both be None.")
    condition = to_tensor(condition, dtype=torch.bool)
    if x1 is None:
        return torch.stack(torch.where(condition), dim=0)
    if not isinstance(x1, torch.Tensor) and not isinstance(x2, torch.Tensor):
        x1, x2 = to_tensor(x1, device=condition.device), to_tensor(x2, device=condition.device)
    return torch.where(condition, to_tensor(x1) if isinstance(x1, (list, np.ndarray)) else x1,
                       to_tensor(x2) if isinstance(x2, (list, np.ndarray)) else x2)


@keras_op("Select", "numpy")
def select(condlist, choicelist, default=0):
    """The choice of the first true condition, element-wise (``default`` where none holds)."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)) or \
            not condlist or not choicelist:
        raise ValueError("select: `condlist` and `choicelist` must be non-empty lists.")
    result = to_tensor(default)
    for condition, choice in reversed(list(zip(condlist, choicelist))):
        result = torch.where(to_tensor(condition), to_tensor(choice), result)
    return result


def _nonzero_spec(x):
    return KerasTensor((len(x.shape), None), dtype="int32")


@keras_op("Nonzero", "numpy", output_spec=_nonzero_spec)
def nonzero(x):
    """The indices of non-zero elements, as an int32 ``(x.ndim, count)`` tensor (one row per axis)."""
    return torch.nonzero(to_tensor(x)).T.to(torch.int32)


def _unique_spec(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None,
                 size=None, fill_value=None):
    values_shape = (size,) if axis is None else tuple(size if i == canonical_axis(axis, len(x.shape)) else d
                                                      for i, d in enumerate(x.shape))
    outputs = [KerasTensor(values_shape, dtype=x.dtype)]
    if return_index:
        outputs.append(KerasTensor((size,), dtype="int32"))
    if return_inverse:
        outputs.append(KerasTensor(x.shape if axis is None else (x.shape[axis],), dtype="int32"))
    if return_counts:
        outputs.append(KerasTensor((size,), dtype="int32"))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


@keras_op("Unique", "numpy", config=("sorted", "return_index", "return_inverse", "return_counts", "axis", "size",
                                     "fill_value"), output_spec=_unique_spec)
def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None,  # noqa: A002
           size=None, fill_value=None):
    """The unique values of ``x`` (along ``axis``), optionally with first indices, inverse and counts;
    ``size`` pads (with ``fill_value``) or truncates the result to a fixed length."""
    x = to_tensor(x)
    values, inverse, counts = torch.unique(x, sorted=True, return_inverse=True, return_counts=True, dim=axis)
    dim = 0 if axis is None else canonical_axis(axis, x.ndim)
    first = None
    if return_index:
        positions = torch.arange(inverse.numel(), device=x.device)
        first = torch.full((values.shape[dim],), inverse.numel(), dtype=torch.int64, device=x.device)
        first = first.scatter_reduce(0, inverse.reshape(-1), positions, reduce="amin")
    if size is not None:
        count = values.shape[dim]
        if count >= size:
            values = values.narrow(dim, 0, size)
            counts = counts[:size]
            first = first[:size] if first is not None else None
        else:
            widths = [0, 0] * (values.ndim - dim - 1) + [0, size - count]
            values = F.pad(values, widths, value=0 if fill_value is None else fill_value)
            counts = F.pad(counts, [0, size - count])
            first = F.pad(first, [0, size - count]) if first is not None else None
    outputs = [values]
    if return_index:
        outputs.append(first)
    if return_inverse:
        outputs.append(inverse)
    if return_counts:
        outputs.append(counts)
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


@keras_op("SearchSorted", "numpy", config=("side",))
def searchsorted(sorted_sequence, values, side="left"):
    """Indices where ``values`` would be inserted in the 1-D ``sorted_sequence`` to keep it sorted."""
    sorted_sequence, values = to_tensor(sorted_sequence), to_tensor(values)
    if sorted_sequence.ndim != 1:
        raise ValueError("searchsorted only supports 1-D sorted sequences (use lamina.ops.vectorized_map for N-D). "
                         f"Received: sorted_sequence.shape={tuple(sorted_sequence.shape)}")
    return torch.searchsorted(sorted_sequence, values.to(sorted_sequence.dtype), side=side,
                              out_int32=sorted_sequence.shape[0] < 2**31)


@keras_op("Digitize", "numpy")
def digitize(x, bins):
    """The index of the bin each value of ``x`` falls in (``bins`` increasing), int32."""
    x, bins = to_tensor(x), to_tensor(bins)
    if x.dtype is torch.bool:
        x = x.to(torch.uint8)
    return torch.bucketize(x, bins.to(x.dtype) if bins.dtype != x.dtype else bins, right=True).to(torch.int32)


@keras_op("Bincount", "numpy", config=("weights", "minlength", "sparse"))
def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each non-negative int in ``x`` (1-D, or 2-D counted per row), optionally weighted."""
    if sparse:
        raise ValueError("bincount: sparse=True is not supported (lamina has no sparse tensors).")
    x = to_tensor(x)
    if weights is not None:
        weights = to_tensor(weights, device=x.device)
        dtype = torch_dtype(result_type(dtype_name(x), dtype_name(weights)))
    else:
        dtype = torch.int32
    if x.ndim == 2:
        length = builtins.max(minlength, int(x.max()) + 1 if x.numel() else 0)
        rows = torch.zeros((x.shape[0], length), dtype=dtype if weights is not None else torch.int64,
                           device=x.device)
        source = weights.to(rows.dtype) if weights is not None else torch.ones_like(x, dtype=rows.dtype)
        return rows.scatter_add_(1, x.long(), source).to(dtype)
    return torch.bincount(x, weights, minlength).to(dtype)


@keras_op("Histogram", "numpy", config=("bins", "range"))
def histogram(x, bins=10, range=None):  # noqa: A002
    """(counts, bin edges) of the 1-D ``x`` over ``bins`` equal bins of ``range`` (default: min..max)."""
    x = to_tensor(x)
    if x.ndim > 1:
        raise ValueError(f"histogram: the input must be 1-D. Received: shape={tuple(x.shape)}")
    result = torch.histogram(x, bins=bins, range=range)
    return result.hist, result.bin_edges


@keras_op("IsIn", "numpy", config=("assume_unique", "invert"))
def isin(x1, x2, assume_unique=False, invert=False):
    """True where an element of ``x1`` is in ``x2``."""
    x1, x2 = to_tensor(x1), to_tensor(x2)
    if x1.dtype is torch.bool or x2.dtype is torch.bool:
        dtype = torch_dtype(result_type(dtype_name(x1), dtype_name(x2)))
        dtype = torch.int32 if dtype is torch.bool else dtype
        x1, x2 = x1.to(dtype), x2.to(dtype)
    return torch.isin(x1, x2, assume_unique=assume_unique, invert=invert)


@keras_op("UnravelIndex", "numpy", config=("shape",))
def unravel_index(indices, shape):
    """Flat ``indices`` as a tuple of coordinate tensors into ``shape``."""
    indices = to_tensor(indices)
    dtype = torch_dtype(result_type(dtype_name(indices)))  # Keras's result_type: int64 becomes int32
    return tuple(i.to(dtype) for i in torch.unravel_index(indices, tuple(shape)))


@keras_op("View", "numpy", config=("dtype",))
def view(x, dtype=None):
    """``x``'s memory reinterpreted as ``dtype`` (the last axis scales by the itemsize ratio)."""
    x = to_tensor(x)
    return x if dtype is None else x.view(torch_dtype(dtype))


@keras_op("Diff", "numpy", config=("n", "axis"))
def diff(a, n=1, axis=-1):
    """The ``n``-th discrete difference along ``axis``."""
    return torch.diff(to_tensor(a), n=n, dim=axis)


@keras_op("Trapezoid", "numpy", config=("x", "dx", "axis"))
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of ``y`` along ``axis`` by the trapezoidal rule (sample points ``x`` or spacing ``dx``)."""
    y = to_tensor(y)
    if y.dtype is torch.bool or not y.is_floating_point():
        y = y.to(floatx())
    if x is not None:
        return torch.trapezoid(y, x=to_tensor(x, device=y.device), dim=axis)
    return torch.trapezoid(y, dx=dx, dim=axis)
