"""Keras activation functions on torch tensors.

Each function takes a torch tensor and returns one of the same shape (``glu``
halves its ``axis``), with Keras 3's names, keyword arguments and defaults.
``get``/``serialize``/``deserialize`` turn names and configs into functions and
back, as ``keras.activations`` does.
"""

import warnings

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.ops import nn as ops_nn
from lamina.serialization import deserialize_keras_object, resolve_identifier, serialize_keras_object

_MODULE = "keras.activations"


@registry.register_builtin(_MODULE)
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit, Keras's general form.

    ``max(x, 0)`` by default; values above ``max_value`` are clipped, values
    at or below ``threshold`` become 0 (or ``negative_slope * (x - threshold)``).
    """
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return F.leaky_relu(x, negative_slope)
        negative_part = F.relu(threshold - x) if threshold != 0 else F.relu(-x)
    clip_max = max_value is not None
    if threshold != 0:
        x = torch.where(x > threshold, x, torch.zeros((), dtype=x.dtype, device=x.device))
    elif max_value == 6:
        x = F.relu6(x)
        clip_max = False
    else:
        x = F.relu(x)
    if clip_max:
        x = torch.clamp(x, 0.0, max_value)
    if negative_slope != 0.0:
        x = x - negative_slope * negative_part
    return x


@registry.register_builtin(_MODULE)
def leaky_relu(x, negative_slope=0.2):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise."""
    return F.leaky_relu(x, negative_slope)


@registry.register_builtin(_MODULE)
def relu6(x):
    """``min(max(x, 0), 6)``."""
    return F.relu6(x)


def _over_axes(function, x, axis):
    """Applies a ``dim=-1`` function over several axes (None: all) by flattening them together, as Keras."""
    axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in axis)
    last = tuple(range(x.ndim - len(axes), x.ndim))
    moved = x.movedim(axes, last)
    flat = moved.reshape(*moved.shape[:x.ndim - len(axes)], -1)
    return function(flat, dim=-1).reshape(moved.shape).movedim(last, axes)


@registry.register_builtin(_MODULE)
def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` over ``axis`` (an int, a tuple of ints, or None for all)."""
    if not isinstance(axis, int):
        return _over_axes(F.softmax, x, axis)
    if -x.ndim <= axis < x.ndim and x.shape[axis] == 1:
        warnings.warn(f"You are using a softmax over axis {axis} of a tensor of shape {tuple(x.shape)}. "
                      "This axis has size 1. The softmax operation will always return the value 1, "
                      "which is likely not what you intended. Did you mean to use a sigmoid instead?",
                      stacklevel=2)
    return F.softmax(x, dim=axis)


@registry.register_builtin(_MODULE)
def log_softmax(x, axis=-1):
    """``x - log(sum(exp(x)))`` over ``axis`` (an int, a tuple of ints, or None for all)."""
    if not isinstance(axis, int):
        return _over_axes(F.log_softmax, x, axis)
    return F.log_softmax(x, dim=axis)


@registry.register_builtin(_MODULE)
def elu(x, alpha=1.0):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""
    return F.elu(x, alpha)


@registry.register_builtin(_MODULE)
def selu(x):
    """Scaled exponential linear unit (scale 1.0507..., alpha 1.6732...)."""
    return F.selu(x)


@registry.register_builtin(_MODULE)
def celu(x, alpha=1.0):
    """``max(x, 0) + min(alpha * (exp(x / alpha) - 1), 0)``."""
    return F.celu(x, alpha)


@registry.register_builtin(_MODULE)
def softplus(x):
    """``log(exp(x) + 1)``."""
    return F.softplus(x)


@registry.register_builtin(_MODULE)
def softsign(x):
    """``x / (abs(x) + 1)``."""
    return F.softsign(x)


@registry.register_builtin(_MODULE)
def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``."""
    return (x + torch.sqrt(x * x + b)) / 2


@registry.register_builtin(_MODULE)
def sparse_plus(x):
    """0 for ``x <= -1``, ``(x + 1)**2 / 4`` for ``-1 < x < 1``, ``x`` for ``x >= 1``."""
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


@registry.register_builtin(_MODULE)
def silu(x):
    """``x * sigmoid(x)`` (also named ``swish``)."""
    return F.silu(x)


@registry.register_builtin(_MODULE)
def gelu(x, approximate=False):
    """Gaussian error linear unit; ``approximate=True`` uses the tanh approximation."""
    return F.gelu(x, approximate="tanh" if approximate else "none")


@registry.register_builtin(_MODULE)
def glu(x, axis=-1):
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves ``a, b`` of ``axis``."""
    return F.glu(x, dim=axis)


@registry.register_builtin(_MODULE)
def tanh(x):
    """Hyperbolic tangent."""
    return torch.tanh(x)


@registry.register_builtin(_MODULE)
def tanh_shrink(x):
    """``x - tanh(x)``."""
    return F.tanhshrink(x)


@registry.register_builtin(_MODULE)
def hard_tanh(x):
    """``x`` clipped to [-1, 1]."""
    return F.hardtanh(x, -1.0, 1.0)


@registry.register_builtin(_MODULE)
def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    return F.softshrink(x, threshold)


@registry.register_builtin(_MODULE)
def hard_shrink(x, threshold=0.5):
    """``x`` where ``abs(x) > threshold``, else 0."""
    return F.hardshrink(x, threshold)


@registry.register_builtin(_MODULE)
def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``."""
    return F.threshold(x, threshold, default_value)


@registry.register_builtin(_MODULE)
def sigmoid(x):
    """``1 / (1 + exp(-x))``."""
    return torch.sigmoid(x)


@registry.register_builtin(_MODULE)
def sparse_sigmoid(x):
    """0 for ``x <= -1``, ``(x + 1) / 2`` for ``-1 < x < 1``, 1 for ``x >= 1``."""
    return torch.clamp(0.5 * (x + 1), 0.0, 1.0)


@registry.register_builtin(_MODULE)
def log_sigmoid(x):
    """``log(sigmoid(x))``, computed stably."""
    return F.logsigmoid(x)


@registry.register_builtin(_MODULE)
def exponential(x):
    """``exp(x)``."""
    return torch.exp(x)


@registry.register_builtin(_MODULE)
def hard_sigmoid(x):
    """Keras 3's piecewise-linear sigmoid: ``relu6(x + 3) / 6``."""
    return F.hardsigmoid(x)


@registry.register_builtin(_MODULE)
def keras2_hard_sigmoid(x):
    """Keras 2's piecewise-linear sigmoid: ``clip(0.2 * x + 0.5, 0, 1)``.

    Not Keras 3's ``hard_sigmoid`` (slope 1/6): models loaded from Keras 2 files use this one where their
    config says ``"hard_sigmoid"`` (docs/keras_files.md).
    """
    return torch.clamp(x * 0.2 + 0.5, 0.0, 1.0)


@registry.register_builtin(_MODULE)
def hard_silu(x):
    """``x * relu6(x + 3) / 6`` (also named ``hard_swish``)."""
    return F.hardswish(x)


@registry.register_builtin(_MODULE)
def linear(x):
    """The identity: returns ``x`` unchanged."""
    return x


@registry.register_builtin(_MODULE)
def mish(x):
    """``x * tanh(softplus(x))``."""
    return F.mish(x)


@registry.register_builtin(_MODULE)
def sparsemax(x, axis=-1):
    """Euclidean projection of ``x`` onto the probability simplex along ``axis`` (sparse softmax)."""
    return ops_nn.sparsemax(x, axis=axis)


swish = silu
hard_swish = hard_silu
registry.register_builtin(_MODULE, name="swish")(silu)
registry.register_builtin(_MODULE, name="hard_swish")(hard_silu)


def serialize(activation):
    """The name of a built-in activation (``"relu"``), or the config of a registered custom one."""
    return serialize_keras_object(activation)


def deserialize(config, custom_objects=None):
    """The activation function named by ``config`` (a name or a serialized dict)."""
    return deserialize_keras_object(config, module_objects=registry.builtins_of(_MODULE),
                                    custom_objects=custom_objects, printable_module_name="activation function")


def get(identifier):
    """An activation function from None (``linear``), a name, a config dict or a callable.

    >>> get("relu")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return resolve_identifier(identifier, deserialize, "activation function", none_value=linear,
                              instantiate_classes=False)


def is_elementwise(activation):
    """Whether ``activation`` computes each output element from its own input element alone, so that it gives
    the same values on any view of the data: every built-in but softmax, log_softmax, glu and sparsemax (and
    ``hot_path_form``'s torch functions); a custom function is not assumed to."""
    if activation in (torch.relu, torch.sigmoid, torch.tanh):
        return True
    return activation not in (softmax, log_softmax, glu, sparsemax) \
        and any(activation is builtin for builtin in registry.builtins_of(_MODULE).values())


_IN_PLACE = {relu: torch.relu_, sigmoid: torch.sigmoid_, tanh: torch.tanh_}


def hot_path_form(activation, own_output=False):
    """What a layer applies per call for ``activation``: None for ``linear`` (nothing to do), the torch
    function computing exactly Keras's default ``relu``/``sigmoid``/``tanh`` (one Python frame fewer per
    call), else ``activation`` itself. With ``own_output`` (what the layer applies it to is its own new
    output, such as a convolution's or a matmul's), ``in_place_form`` where there is one."""
    if activation is linear:
        return None
    if own_output and activation in _IN_PLACE:
        return _IN_PLACE[activation]
    return {relu: torch.relu, sigmoid: torch.sigmoid, tanh: torch.tanh}.get(activation, activation)


def in_place_form(activation):
    """The torch function computing Keras's default ``relu``/``sigmoid``/``tanh`` in place (the same kernel,
    the same values and gradients as ``hot_path_form``'s), else None. For a layer's own output: a new
    tensor that nothing else reads and whose producing op's backward does not read it (a convolution's, a
    matmul's), which then costs no second buffer and no second pass over new memory."""
    return _IN_PLACE.get(activation)
