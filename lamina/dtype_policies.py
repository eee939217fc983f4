"""Dtype policies: the dtype of a layer's weights and of its computation, as ``keras.dtype_policies``.

``"float32"`` (any float dtype name) uses that dtype for both.
``"mixed_float16"`` / ``"mixed_bfloat16"`` keep float32 weights and compute
in the half type under ``torch.autocast``. A layer created without ``dtype``
takes the global policy (``lamina.config.set_dtype_policy`` /
``lamina.mixed_precision.set_global_policy``), as in Keras.
"""

from lamina import config, registry
from lamina.dtypes import standardize_dtype
from lamina.serialization import deserialize_keras_object, serialize_keras_object

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


# Keras writes {"module": "keras", "class_name": "DTypePolicy", ...}: the outer registration names the module.
@registry.register_builtin("keras")
@registry.register_builtin("keras.dtype_policies")
class DTypePolicy:
    """A layer's dtype policy: ``name``, ``compute_dtype`` and ``variable_dtype`` (names, e.g. "float32").

    ``DTypePolicy()`` is the global policy's copy; ``DTypePolicy("mixed_float16")`` computes in float16
    with float32 weights.
    """

    def __init__(self, name=None):
        if name is None:
            name = config.dtype_policy().name
        if not isinstance(name, str):
            raise TypeError("'name' must be a string, such as 'mixed_float16'. "
                            f"Received: name={name} (of type {type(name)})")
        if name in _MIXED:
            self.compute_dtype, self.variable_dtype = _MIXED[name], "float32"
        else:
            try:
                self.compute_dtype = self.variable_dtype = standardize_dtype(name)
            except ValueError:
                raise ValueError(f"Cannot convert '{name}' to a mixed precision DTypePolicy. Valid policies "
                                 "include 'mixed_float16', 'mixed_bfloat16', and the name of any float dtype "
                                 "such as 'float32'.") from None
        self.name = name

    @property
    def is_mixed(self):
        return self.compute_dtype != self.variable_dtype

    @property
    def quantization_mode(self):
        """None: lamina has no quantized policies."""
        return None

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and self.name == other.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


@registry.register_builtin("keras.dtype_policies")
class FloatDTypePolicy(DTypePolicy):
    """Keras's older name for a float ``DTypePolicy``."""


ALL_OBJECTS = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy}


def get(identifier):
    """A DTypePolicy from None (the global policy), a name, a torch/NumPy dtype, a policy or its config."""
    if identifier is None:
        return config.dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    try:
        return DTypePolicy(standardize_dtype(identifier))
    except (ValueError, KeyError):
        raise ValueError("Cannot interpret `dtype` argument. Expected a string or an instance of DTypePolicy. "
                         f"Received: dtype={identifier}") from None


get_policy = get


def serialize(policy):
    """Keras's config form: ``{"module": "keras", "class_name": "DTypePolicy", "config": {"name": ...}}``."""
    return serialize_keras_object(policy)


serialize_policy = serialize


def deserialize(config, custom_objects=None):
    """A DTypePolicy from its Keras config (or a bare ``{"name": ...}`` config)."""
    if isinstance(config, dict) and "class_name" not in config:
        return DTypePolicy(**config)
    return deserialize_keras_object(config, module_objects=ALL_OBJECTS, custom_objects=custom_objects,
                                    printable_module_name="dtype policy")
