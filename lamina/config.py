"""Global settings: floatx, epsilon, image_data_format, the dtype policy, Keras's other
``keras.config`` switches, and the opt-in memory policy.

The defaults are read once, at import, from ``$KERAS_HOME/keras.json``
(``~/.keras/keras.json`` when ``KERAS_HOME`` is unset), as Keras 2 did. A
missing file means the Keras defaults; a malformed one gives a warning and the
defaults, never an error.
"""

import json
import os
import warnings

from lamina import registry
from lamina.memory import memory_policy, set_memory_policy  # noqa: F401  (public here, as lamina.config.*)

_FLOATX_CHOICES = ("float16", "bfloat16", "float32", "float64")
_DATA_FORMATS = ("channels_last", "channels_first")

_settings = {
    "floatx": "float32",
    "epsilon": 1e-7,
    "image_data_format": "channels_last",
}
# Process-wide switches of keras.config that keras.json does not hold.
_switches = {
    "dtype_policy": None,  # None: a DTypePolicy of floatx, made on first use (as Keras)
    "interactive_logging": True,
    "traceback_filtering": True,
    "unsafe_deserialization": False,
    "flash_attention": None,  # None: PyTorch picks the attention kernel
    "max_epochs": None,
    "max_steps_per_epoch": None,
}


def keras_home():
    """The Keras settings folder: ``$KERAS_HOME``, else ``~/.keras``."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _read_keras_json(path):
    """Settings from a keras.json file; warns and returns {} when malformed."""
    try:
        with open(path, encoding="utf-8") as f:
            loaded = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        warnings.warn(f"Ignoring malformed Keras settings file {path!r}: {error}", stacklevel=3)
        return {}
    if not isinstance(loaded, dict):
        warnings.warn(f"Ignoring Keras settings file {path!r}: expected a JSON object, "
                      f"received {type(loaded).__name__}", stacklevel=3)
        return {}
    valid = {}
    checks = {
        "floatx": lambda v: v in _FLOATX_CHOICES,
        "epsilon": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0,
        "image_data_format": lambda v: v in _DATA_FORMATS,
    }
    for key, is_valid in checks.items():
        if key not in loaded:
            continue
        if is_valid(loaded[key]):
            valid[key] = loaded[key]
        else:
            warnings.warn(f"Ignoring invalid {key}={loaded[key]!r} in Keras settings file {path!r}",
                          stacklevel=3)
    return valid


def reload_keras_json():
    """Re-reads keras.json (used at import; call it after editing the file)."""
    _settings.update(floatx="float32", epsilon=1e-7, image_data_format="channels_last")
    _settings.update(_read_keras_json(os.path.join(keras_home(), "keras.json")))


def floatx():
    """The default float dtype name, e.g. ``"float32"``."""
    return _settings["floatx"]


def set_floatx(value):
    if value not in _FLOATX_CHOICES:
        raise ValueError(f"Unknown floatx: expected one of {_FLOATX_CHOICES}. Received: floatx={value!r}")
    _settings["floatx"] = str(value)


def epsilon():
    """The fuzz factor used in numeric expressions (default 1e-7)."""
    return _settings["epsilon"]


def set_epsilon(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"epsilon must be a positive number. Received: epsilon={value!r}")
    _settings["epsilon"] = float(value)


def image_data_format():
    """``"channels_last"`` or ``"channels_first"``: what ``data_format=None`` means."""
    return _settings["image_data_format"]


def set_image_data_format(value):
    normalized = str(value).lower() if isinstance(value, str) else value
    if normalized not in _DATA_FORMATS:
        raise ValueError(f"image_data_format must be one of {_DATA_FORMATS}. Received: {value!r}")
    _settings["image_data_format"] = normalized


def backend():
    """The backend's name: always ``"torch"`` (lamina runs on PyTorch only)."""
    return "torch"


def set_backend(backend):
    """Keras switches backends here; lamina has one, so only ``"torch"`` is accepted."""
    if backend != "torch":
        raise ValueError(f"lamina runs on PyTorch only: set_backend accepts only 'torch'. Received: backend={backend!r}")


# ---------------------------------------------------------------- the global dtype policy
def _policy_class():
    # DTypePolicy lives one floor up (lamina.dtype_policies) and registers itself; configs use the same name.
    return registry.get_builtin("keras.dtype_policies", "DTypePolicy")


def set_dtype_policy(policy):
    """Makes ``policy`` (a name such as ``"mixed_float16"``, or a ``DTypePolicy``) what layers created
    without a ``dtype`` use, as ``keras.config.set_dtype_policy``."""
    cls = _policy_class()
    if isinstance(policy, str):
        policy = cls(policy)
    elif not isinstance(policy, cls):
        raise ValueError("Invalid `policy` argument. Expected the string name of a policy (such as "
                         f"'mixed_float16') or a `DTypePolicy` instance. Received: policy={policy} "
                         f"(of type {type(policy)})")
    _switches["dtype_policy"] = policy


def dtype_policy():
    """The global ``DTypePolicy`` (a policy of ``floatx()`` until one is set)."""
    if _switches["dtype_policy"] is None:
        _switches["dtype_policy"] = _policy_class()(floatx())
    return _switches["dtype_policy"]


def reset_dtype_policy():
    """Back to the default policy (``clear_session`` does this, as Keras's does)."""
    _switches["dtype_policy"] = None


# ---------------------------------------------------------------- switches
def enable_interactive_logging():
    """Progress bars and messages go to stdout (the default)."""
    _switches["interactive_logging"] = True


def disable_interactive_logging():
    """Progress and messages go to the ``logging`` logger ``"lamina"`` instead of stdout (one line per
    epoch, no bar), as Keras sends them to absl logging."""
    _switches["interactive_logging"] = False


def is_interactive_logging_enabled():
    return _switches["interactive_logging"]


def enable_traceback_filtering():
    """Kept for Keras scripts; lamina never filters tracebacks, so this changes nothing."""
    _switches["traceback_filtering"] = True


def disable_traceback_filtering():
    """Kept for Keras scripts; lamina never filters tracebacks, so this changes nothing."""
    _switches["traceback_filtering"] = False


def is_traceback_filtering_enabled():
    return _switches["traceback_filtering"]


def enable_unsafe_deserialization():
    """Disables safe mode everywhere: serialized lambdas load even where ``safe_mode=True`` is passed."""
    _switches["unsafe_deserialization"] = True


def is_unsafe_deserialization_enabled():
    return _switches["unsafe_deserialization"]


def enable_flash_attention():
    """Asks attention layers for PyTorch's flash-attention kernel."""
    _switches["flash_attention"] = True


def disable_flash_attention():
    """Keeps attention layers off PyTorch's flash-attention kernel."""
    _switches["flash_attention"] = False


def is_flash_attention_enabled():
    """True or False when set, else None (PyTorch picks)."""
    return _switches["flash_attention"]


def is_nnx_enabled():
    """Flax NNX is a JAX feature: always False here."""
    return False


def _check_limit(name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive int or None. Received: {name}={value!r}")
    _switches[name] = value


def set_max_epochs(max_epochs):
    """Caps ``fit``'s epochs (None: no cap), e.g. for quick debugging runs."""
    _check_limit("max_epochs", max_epochs)


def max_epochs():
    return _switches["max_epochs"]


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Caps the batches of every epoch of ``fit``/``evaluate``/``predict`` (None: no cap)."""
    _check_limit("max_steps_per_epoch", max_steps_per_epoch)


def max_steps_per_epoch():
    return _switches["max_steps_per_epoch"]


reload_keras_json()
