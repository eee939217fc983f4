"""Core ops (``keras.ops``): conversion, dtypes and shapes, control flow, gradients, slicing, scatter.

Control flow runs as Python on torch tensors (as Keras's torch backend does); under ``torch.compile``
``cond`` with a tensor predicate becomes ``torch.cond`` so the graph does not break on it.
"""

import builtins
import functools

import numpy as np
import torch

from lamina import tree
from lamina.dtypes import standardize_dtype
from lamina.ops.keras_op import keras_op
from lamina.ops.tensors import to_tensor, torch_dtype
from lamina.symbolic.keras_tensor import KerasTensor


def _dtype_prepare(values):
    if values.get("dtype") is not None:
        values["dtype"] = standardize_dtype(values["dtype"])


@keras_op("Cast", "core", config=("dtype",), prepare=_dtype_prepare)
def cast(x, dtype):
    """``x`` as a tensor of ``dtype`` (no copy when it already has it)."""
    return to_tensor(x, dtype=dtype)


@keras_op("SaturateCast", "core", config=("dtype",), prepare=_dtype_prepare)
def saturate_cast(x, dtype):
    """``x`` cast to ``dtype``, values clipped to the range ``dtype`` can hold (no wrap-around)."""
    x = to_tensor(x)
    target = torch_dtype(dtype)
    if target.is_floating_point or target is torch.bool:
        limits = torch.finfo(target) if target.is_floating_point else None
    else:
        limits = torch.iinfo(target)
    if limits is not None:
        low, high = limits.min, limits.max
        if x.is_floating_point():
            source = torch.finfo(x.dtype)
            low, high = builtins.max(low, source.min), builtins.min(high, source.max)
        elif x.dtype is not torch.bool:
            source = torch.iinfo(x.dtype)
            low, high = builtins.max(low, source.min), builtins.min(high, source.max)
        if x.dtype is not torch.bool:
            x = torch.clamp(x, low, high)
    return x.to(target)


@keras_op("ConvertToTensor", "core", config=("dtype", "sparse", "ragged"), prepare=_dtype_prepare)
def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` (tensor, NumPy array, Python number or nested list) as a torch tensor, with Keras's dtypes:
    Python floats floatx, Python ints int32, lists by their elements' promoted dtype."""
    if sparse or ragged:
        raise ValueError("convert_to_tensor: sparse and ragged tensors are not supported on torch.")
    return to_tensor(x, dtype=dtype)


def convert_to_numpy(x):
    """``x`` as a NumPy array (detached, moved to the CPU; bfloat16 via float32)."""
    if isinstance(x, (list, tuple)):
        return np.array([convert_to_numpy(item) for item in x])
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype is torch.bfloat16:
            return x.float().numpy()
        return x.numpy()
    return np.asarray(x)


def is_tensor(x):
    """Whether ``x`` is a torch tensor."""
    return isinstance(x, torch.Tensor)


def shape(x):
    """The shape of ``x`` as a tuple (with None for a symbolic tensor's unknown dimensions)."""
    if isinstance(x, KerasTensor):
        return x.shape
    return tuple(to_tensor(x).shape)


def dtype(x):
    """The dtype name of ``x`` ("float32")."""
    return standardize_dtype(x.dtype)


@keras_op("Cond", "core")
def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()``."""
    if isinstance(pred, torch.Tensor) and torch.compiler.is_compiling():
        return torch.cond(pred, lambda: true_fn(), lambda: false_fn(), ())
    return true_fn() if pred else false_fn()


@keras_op("WhileLoop", "core", config=("cond", "body", "maximum_iterations"))
def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Runs ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (at most ``maximum_iterations``)."""
    is_sequence = isinstance(loop_vars, (list, tuple))
    values = tuple(loop_vars) if is_sequence else (loop_vars,)
    values = tree.map_structure(to_tensor, values)
    iterations = 0
    while (maximum_iterations is None or iterations < maximum_iterations) and cond(*values):
        values = body(*values)
        values = tuple(values) if isinstance(values, (list, tuple)) else (values,)
        iterations += 1
    return values if is_sequence else values[0]


@keras_op("ForiLoop", "core", config=("lower", "upper", "body_fun"))
def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for i in [lower, upper)."""
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


@keras_op("Scan", "core", config=("length", "reverse", "unroll"))
def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """``carry, y = f(carry, x)`` over the leading axis of ``xs``: (final carry, stacked ys) (JAX's scan)."""
    if not callable(f):
        raise TypeError(f"scan: `f` must be callable. Received: f={f!r}")
    if xs is None and length is None:
        raise ValueError("scan: give `xs` to scan over, or `length`.")
    flat_xs = [to_tensor(x) for x in tree.flatten(xs)] if xs is not None else []
    steps = int(length) if length is not None else flat_xs[0].shape[0]
    carry = tree.map_structure(to_tensor, init)
    ys = []
    for i in (reversed(range(steps)) if reverse else range(steps)):
        x = tree.pack_sequence_as(xs, [v[i] for v in flat_xs]) if xs is not None else None
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys or ys[0] is None:
        return carry, None
    return carry, _stack_structures(ys)


def _stack_structures(items):
    flat = [tree.flatten(item) for item in items]
    return tree.pack_sequence_as(items[0], [torch.stack([to_tensor(v) for v in leaves]) for leaves in zip(*flat)])


@keras_op("Map", "core")
def map(f, xs):  # noqa: A001
    """``f`` applied to each slice of ``xs`` along its leading axis, results stacked."""
    flat = [to_tensor(x) for x in tree.flatten(xs)]
    results = [f(tree.pack_sequence_as(xs, [v[i] for v in flat])) for i in range(flat[0].shape[0])]
    return _stack_structures(results)


@keras_op("Switch", "core")
def switch(index, branches, *operands):
    """``branches[index](*operands)``, ``index`` clamped to the valid range."""
    index = builtins.min(builtins.max(int(index), 0), len(branches) - 1)
    return branches[index](*operands)


@keras_op("AssociativeScan", "core", config=("reverse", "axis"))
def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive scan of an associative ``f`` along ``axis`` (Hillis-Steele doubling: log2(n) calls of ``f``)."""
    flat = [to_tensor(e) for e in tree.flatten(elems)]
    if reverse:
        flat = [torch.flip(e, (axis,)) for e in flat]
    n = flat[0].shape[axis]
    offset = 1
    while offset < n:
        head = [e.narrow(axis, 0, offset) for e in flat]
        previous = tree.pack_sequence_as(elems, [e.narrow(axis, 0, n - offset) for e in flat])
        current = tree.pack_sequence_as(elems, [e.narrow(axis, offset, n - offset) for e in flat])
        combined = tree.flatten(f(previous, current))
        flat = [torch.cat([h, c], dim=axis) for h, c in zip(head, combined)]
        offset *= 2
    if reverse:
        flat = [torch.flip(e, (axis,)) for e in flat]
    return tree.pack_sequence_as(elems, flat)


@keras_op("StopGradient", "core")
def stop_gradient(variable):
    """``variable`` cut from the autograd graph (``detach``)."""
    return to_tensor(variable).detach()


def custom_gradient(f):
    """Decorates ``f(*args) -> (output, grad_fn)``: calls of the decorated function return ``output`` and
    backpropagate ``grad_fn(*args, upstream=gradient of output)`` (the gradients of the inputs)."""

    def decorated(*args, **kwargs):
        return _CustomGradient.apply(f, kwargs, *args)

    return functools.wraps(f)(decorated)


class _CustomGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, forward_fn, kwargs, *args):
        output, ctx.grad_fn = forward_fn(*args, **kwargs)
        ctx.save_for_backward(*[a for a in args if isinstance(a, torch.Tensor)])
        ctx.arguments = args
        return output

    @staticmethod
    def backward(ctx, upstream):
        grads = ctx.grad_fn(*ctx.arguments, upstream=upstream)
        grads = grads if isinstance(grads, tuple) else (grads,)
        return (None, None) + grads


@keras_op("Slice", "core", config=("shape",))
def slice(inputs, start_indices, shape):  # noqa: A001
    """The block of ``inputs`` of ``shape`` starting at ``start_indices``."""
    inputs = to_tensor(inputs)
    if isinstance(start_indices, (list, tuple)) and builtins.all(isinstance(s, int) for s in start_indices):
        return inputs[tuple(builtins.slice(s, s + n) for s, n in zip(start_indices, shape))]
    starts = to_tensor(start_indices, dtype=torch.int64)
    result = inputs
    for axis in range(starts.shape[0]):
        result = torch.narrow(result, axis, starts[axis], shape[axis])
    return result


@keras_op("SliceUpdate", "core")
def slice_update(inputs, start_indices, updates):
    """A copy of ``inputs`` with the block at ``start_indices`` replaced by ``updates``."""
    inputs = to_tensor(inputs)
    updates = to_tensor(updates, dtype=inputs.dtype, device=inputs.device)
    if isinstance(start_indices, torch.Tensor):
        start_indices = start_indices.tolist()
    outputs = inputs.clone()
    outputs[tuple(builtins.slice(int(s), int(s) + n) for s, n in zip(start_indices, updates.shape))] = updates
    return outputs


@keras_op("Scatter", "core", config=("shape",))
def scatter(indices, values, shape):
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (``(..., index_depth)``; repeats add up)."""
    values = to_tensor(values)
    indices = to_tensor(indices, device=values.device).long()
    depth = indices.shape[-1]
    outputs = torch.zeros(tuple(shape), dtype=values.dtype, device=values.device)
    outputs.index_put_(tuple(indices.reshape(-1, depth).T), values.reshape((-1,) + tuple(shape[depth:])),
                       accumulate=True)
    return outputs


_SCATTER_REDUCTIONS = {"max": "amax", "min": "amin", "mul": "prod"}


@keras_op("ScatterUpdate", "core", config=("reduction",))
def scatter_update(inputs, indices, updates, reduction=None):
    """A copy of ``inputs`` with ``updates`` written at ``indices`` (``(n, index_depth)``); ``reduction``
    None (replace), "add", "max", "min" or "mul" combines them with the current values."""
    inputs = to_tensor(inputs)
    indices = to_tensor(indices, dtype=torch.int64, device=inputs.device)
    updates = to_tensor(updates, dtype=inputs.dtype, device=inputs.device)
    if reduction is not None:
        reduction = reduction.lower()
        if reduction not in ("add", "max", "min", "mul"):
            raise ValueError(f"scatter_update: unknown reduction {reduction!r}. Expected None, 'add', 'max', "
                             "'min' or 'mul'.")
    outputs = inputs.clone()
    index = tuple(indices.T)
    if reduction is None:
        outputs[index] = updates
    elif reduction == "add":
        outputs.index_put_(index, updates, accumulate=True)
    else:
        depth = indices.shape[-1]
        flat = outputs.reshape((-1,) + tuple(inputs.shape[depth:]))
        strides = torch.tensor([int(np.prod(inputs.shape[i + 1:depth])) for i in range(depth)], device=inputs.device)
        rows = (indices * strides).sum(-1)
        expanded = rows.reshape((-1,) + (1,) * (flat.ndim - 1)).expand((rows.shape[0],) + tuple(flat.shape[1:]))
        flat.scatter_reduce_(0, expanded, updates.reshape(expanded.shape), _SCATTER_REDUCTIONS[reduction])
        outputs = flat.reshape(inputs.shape)
    return outputs


@keras_op("Unstack", "core", config=("num", "axis"))
def unstack(x, num=None, axis=0):
    """The slices of ``x`` along ``axis``, as a list."""
    return list(to_tensor(x).unbind(axis))


@keras_op("VectorizedMap", "core", config=("function",))
def vectorized_map(function, elements):
    """``function`` applied to each slice of ``elements`` along the leading axis, vectorized (``torch.vmap``)."""
    return torch.vmap(function)(elements)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """NumPy's ``vectorize`` on tensors: ``pyfunc`` mapped over leading axes with ``torch.vmap``
    (``signature`` like "(n),(n)->()" gives the core dimensions; ``excluded`` arguments pass unchanged)."""
    if not callable(pyfunc):
        raise ValueError(f"vectorize: `pyfunc` must be callable. Received: pyfunc={pyfunc!r}")
    excluded = set(excluded or ())
    core_dims = _parse_signature(signature) if signature else None

    def wrapped(*args):
        tensors = [a if i in excluded else to_tensor(a) for i, a in enumerate(args)]
        mapped = [i for i in range(len(tensors)) if i not in excluded]
        cores = [len(core_dims[k]) for k in range(len(mapped))] if core_dims else [0] * len(mapped)
        batch = torch.broadcast_shapes(*[tensors[i].shape[:tensors[i].ndim - c] for i, c in zip(mapped, cores)])
        for i, c in zip(mapped, cores):
            tensors[i] = tensors[i].expand(batch + tensors[i].shape[tensors[i].ndim - c:])
        fn = lambda *vals: pyfunc(*_merge(tensors, mapped, vals))  # noqa: E731
        for _ in range(len(batch)):
            fn = torch.vmap(fn)
        return fn(*[tensors[i] for i in mapped])

    return wrapped


def _merge(arguments, mapped, values):
    merged = list(arguments)
    for i, v in zip(mapped, values):
        merged[i] = v
    return merged


def _parse_signature(signature):
    inputs = signature.split("->")[0]
    return [tuple(d for d in part.strip("()").split(",") if d) for part in inputs.replace(" ", "").split("),(")]

