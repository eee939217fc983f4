"""Rebuilding a model from the config a file holds, and compiling it as the file says.

Shared by every model file format. A config that cannot be rebuilt (an unknown layer, arguments of the
wrong type, a malformed graph) is a ValueError naming the file. A training configuration lamina cannot
restore (an unknown custom optimizer, loss or metric) leaves the model uncompiled, with a warning naming
what failed: the architecture and weights are still usable.
"""

import warnings

from lamina import weight_budget
from lamina.layers.serialization import deserialize

_CONFIG_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, LookupError, NotImplementedError,
                  RecursionError)


def model_from_config(config, filepath, stored_bytes, custom_objects=None, safe_mode=True):
    """The model a file's (Keras 3-form) config describes, without its compile config.

    ``stored_bytes``: the size of the weights the file stores; the weights the config declares are
    checked against it before they are allocated (``lamina.weight_budget``).
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"{filepath}: the model config should be a dict with a 'class_name'; found "
                         f"{type(config).__name__}.")
    config = {key: value for key, value in config.items() if key != "compile_config"}
    try:
        with weight_budget.limit(stored_bytes, filepath):
            model = deserialize(config, custom_objects=custom_objects, safe_mode=safe_mode)
    except _CONFIG_ERRORS as error:
        raise ValueError(f"{filepath}: cannot rebuild the model from its config: {error}") from error
    if not hasattr(model, "compile"):
        raise ValueError(f"{filepath}: the config describes a {type(model).__name__} layer, not a model.")
    return model


def restore_compile(model, compile_config, filepath):
    """Compiles ``model`` from a Keras 3 compile config; warns and leaves it uncompiled if that fails.

    Returns whether the model was compiled.
    """
    if not compile_config:
        return False
    try:
        model.compile_from_config(compile_config)
    except _CONFIG_ERRORS as error:
        model.compiled = False
        model.optimizer = None
        warnings.warn(f"{filepath}: the model was loaded uncompiled: its training configuration cannot be restored "
                      f"({error}). Call `model.compile(...)` before training.", stacklevel=3)
        return False
    return model.compiled
