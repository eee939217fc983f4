"""Keras weight regularizers: callables ``(weight: torch.Tensor) -> scalar tensor`` added to the loss."""

import math

import torch
import torch.nn.functional as F

from lamina import config
from lamina import registry
from lamina.serialization import deserialize_keras_object, resolve_identifier, serialize_keras_object

_MODULE = "keras.regularizers"


def _check_factor(owner, name, value):
    """A finite, non-negative number as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: {name} must be a non-negative float. Received: {name}={value!r}")
    return float(value)


def _as_float32(value):
    """Keras keeps ``L1.l1`` and ``OrthogonalRegularizer.factor`` as float32 tensors, so their configs
    (and penalties) carry the float32-rounded value, e.g. 0.009999999776482582 for 0.01."""
    return float(torch.tensor(value, dtype=torch.float32))


def _penalty(x, l1, l2):
    """``l1 * sum(|x|) + l2 * sum(x**2)``, skipping a zero term, in ``x``'s dtype."""
    penalty = torch.zeros((), dtype=x.dtype, device=x.device)
    if l1 != 0.0:
        penalty = penalty + l1 * torch.sum(torch.abs(x))
    if l2 != 0.0:
        penalty = penalty + l2 * torch.sum(torch.square(x))
    return penalty


@registry.register_builtin(_MODULE)
class Regularizer:
    """Base class: subclasses implement ``__call__(x)`` and ``get_config()``."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config().")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@registry.register_builtin(_MODULE)
class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``; None counts as 0."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _check_factor("L1L2", "l1", 0.0 if l1 is None else l1)
        self.l2 = _check_factor("L1L2", "l2", 0.0 if l2 is None else l2)

    def __call__(self, x):
        return _penalty(x, self.l1, self.l2)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@registry.register_builtin(_MODULE)
class L1(Regularizer):
    """``l1 * sum(|x|)``; None means the default 0.01."""

    def __init__(self, l1=0.01):
        self.l1 = _as_float32(_check_factor("L1", "l1", 0.01 if l1 is None else l1))

    def __call__(self, x):
        return self.l1 * torch.sum(torch.abs(x))

    def get_config(self):
        return {"l1": self.l1}


@registry.register_builtin(_MODULE)
class L2(Regularizer):
    """``l2 * sum(x**2)``; None means the default 0.01."""

    def __init__(self, l2=0.01):
        self.l2 = _check_factor("L2", "l2", 0.01 if l2 is None else l2)

    def __call__(self, x):
        return self.l2 * torch.sum(torch.square(x))

    def get_config(self):
        return {"l2": self.l2}


@registry.register_builtin(_MODULE)
class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (``mode="rows"``) or columns of a 2-D weight towards orthogonality.

    Penalty: ``factor * 0.5 * mean |<u_i, u_j>|`` over pairs ``i < j`` of the
    L2-normalized rows (or columns) ``u``.
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _as_float32(_check_factor("OrthogonalRegularizer", "factor", factor))
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: mode must be 'rows' or 'columns'. Received: mode={mode!r}")
        self.mode = mode

    def __call__(self, x):
        if x.ndim != 2:
            raise ValueError("OrthogonalRegularizer: inputs must have rank 2. "
                             f"Received: inputs.shape={tuple(x.shape)}")
        vectors = x if self.mode == "rows" else x.T
        vectors = F.normalize(vectors, dim=1, eps=config.epsilon())
        product = vectors @ vectors.T
        size = product.shape[0]
        off_diagonal = product * (1.0 - torch.eye(size, dtype=x.dtype, device=x.device))
        num_pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * torch.sum(torch.abs(off_diagonal)) / num_pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


_ALIASES = {"l1": L1, "l2": L2, "l1l2": L1L2, "l1_l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer,
            "regularizer": Regularizer}
for _name, _cls in _ALIASES.items():
    registry.register_builtin(_MODULE, name=_name)(_cls)

# Keras's function forms are the classes under snake_case names (``regularizers.l2(1e-4)``).
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer


def serialize(regularizer):
    """The Keras-form config dict of a regularizer."""
    return serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    """The regularizer class named by ``config`` (a name), or an instance rebuilt from a config dict."""
    return deserialize_keras_object(config, module_objects=registry.builtins_of(_MODULE),
                                    custom_objects=custom_objects, printable_module_name="regularizer")


def get(identifier):
    """A regularizer from None (None), a name (built with defaults), a config dict, a class or a callable.

    >>> get("l2")(torch.ones(2, 2))
    tensor(0.0400)
    """
    return resolve_identifier(identifier, deserialize, "regularizer")
