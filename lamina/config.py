"""Global settings: floatx, epsilon, image_data_format, and the opt-in memory policy.

The defaults are read once, at import, from ``$KERAS_HOME/keras.json``
(``~/.keras/keras.json`` when ``KERAS_HOME`` is unset), as Keras 2 did. A
missing file means the Keras defaults; a malformed one gives a warning and the
defaults, never an error.
"""

import json
import os
import warnings

from lamina.memory import memory_policy, set_memory_policy  # noqa: F401  (public here, as lamina.config.*)

_FLOATX_CHOICES = ("float16", "bfloat16", "float32", "float64")
_DATA_FORMATS = ("channels_last", "channels_first")

_settings = {
    "floatx": "float32",
    "epsilon": 1e-7,
    "image_data_format": "channels_last",
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


reload_keras_json()
