"""Dtype policies: the dtype of a layer's weights and of its computation.

``"float32"`` (any float dtype name) uses that dtype for both.
``"mixed_float16"`` / ``"mixed_bfloat16"`` keep float32 weights and compute
in the half type under ``torch.autocast``.
"""

from lamina import config
from lamina.dtypes import standardize_dtype


class DTypePolicy:
    """A layer's dtype policy, serialized as Keras's ``DTypePolicy``."""

    def __init__(self, name=None):
        name = name or config.floatx()
        if name in ("mixed_float16", "mixed_bfloat16"):
            self.compute_dtype, self.variable_dtype = name[len("mixed_"):], "float32"
        else:
            self.compute_dtype = self.variable_dtype = standardize_dtype(name)
        self.name = name

    @property
    def is_mixed(self):
        return self.compute_dtype != self.variable_dtype

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


def get_policy(dtype):
    """A DTypePolicy from None (floatx), a name, a torch dtype, a policy or its config."""
    if isinstance(dtype, DTypePolicy):
        return dtype
    if isinstance(dtype, dict):
        return DTypePolicy(**dtype.get("config", dtype))
    if dtype is None or isinstance(dtype, str) and dtype.startswith("mixed_"):
        return DTypePolicy(dtype)
    return DTypePolicy(standardize_dtype(dtype))


def serialize_policy(policy):
    return {"module": "keras", "class_name": "DTypePolicy", "config": policy.get_config(),
            "registered_name": None}
