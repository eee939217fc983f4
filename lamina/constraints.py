"""Keras weight constraints: callables ``(weight: torch.Tensor) -> torch.Tensor`` applied after each update.

``axis`` refers to the Keras layout of the weight: for a Dense kernel
``(in, units)`` ``axis=0`` constrains each unit's incoming weights; for a
Conv2D kernel ``(kh, kw, in, filters)`` use ``axis=[0, 1, 2]``.
"""


import torch

from lamina import config
from lamina import registry
from lamina.serialization import deserialize_keras_object, resolve_identifier, serialize_keras_object

_MODULE = "keras.constraints"


def _norms(w, axis):
    """L2 norms of ``w`` along ``axis`` (an int or a list/tuple of ints), kept for broadcasting."""
    dim = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return torch.sqrt(torch.sum(torch.square(w), dim=dim, keepdim=True))


@registry.register_builtin(_MODULE)
class Constraint:
    """Base class: the identity. Subclasses implement ``__call__(w)`` and ``get_config()``."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@registry.register_builtin(_MODULE)
class MaxNorm(Constraint):
    """Rescales slices along ``axis`` whose L2 norm exceeds ``max_value`` down to it."""

    def __init__(self, max_value=2, axis=0):
        if max_value < 0:
            raise ValueError(f"MaxNorm: max_value must be >= 0. Received: max_value={max_value!r}")
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = torch.clamp(norms, 0, self.max_value)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@registry.register_builtin(_MODULE)
class MinMaxNorm(Constraint):
    """Moves the L2 norm of slices along ``axis`` into ``[min_value, max_value]``, by ``rate`` (1 = fully)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        if not 0 <= min_value <= max_value:
            raise ValueError("MinMaxNorm: expected 0 <= min_value <= max_value. "
                             f"Received: min_value={min_value!r}, max_value={max_value!r}")
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * torch.clamp(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


@registry.register_builtin(_MODULE)
class NonNeg(Constraint):
    """Sets negative weights to 0."""

    def __call__(self, w):
        return torch.clamp(w, min=0)


@registry.register_builtin(_MODULE)
class UnitNorm(Constraint):
    """Divides slices along ``axis`` by their L2 norm (plus epsilon)."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


_ALIASES = {"constraint": Constraint, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg,
            "unit_norm": UnitNorm}
for _name, _cls in _ALIASES.items():
    registry.register_builtin(_MODULE, name=_name)(_cls)

# Keras's function forms are the classes under snake_case names (``constraints.max_norm(3)``).
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm


def serialize(constraint):
    """The Keras-form config dict of a constraint."""
    return serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    """The constraint class named by ``config`` (a name), or an instance rebuilt from a config dict."""
    return deserialize_keras_object(config, module_objects=registry.builtins_of(_MODULE),
                                    custom_objects=custom_objects, printable_module_name="constraint")


def get(identifier):
    """A constraint from None (None), a name (built with defaults), a config dict, a class or a callable.

    >>> get("non_neg")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return resolve_identifier(identifier, deserialize, "constraint")
