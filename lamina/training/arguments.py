"""Checks of ``fit``/``evaluate``/``predict`` arguments: a clear ValueError/TypeError naming the method, the
argument, what was received and what was expected — never a silently wrong run (``batch_size=-1`` running
no step, ``validation_split=1.5`` training anyway, ``validation_freq=0`` dividing by zero)."""

import numbers

from lamina.callbacks import Callback, CallbackList
from lamina.ops.arguments import is_int


def _fail(method, name, value, expected, error=ValueError):
    raise error(f"{method}: `{name}` must be {expected}. Received: {name}={value!r}")


def positive_int_or_none(method, name, value):
    if value is not None and (not is_int(value) or value < 1):
        _fail(method, name, value, "a positive int or None")
    return None if value is None else int(value)


def non_negative_int(method, name, value):
    if not is_int(value) or value < 0:
        _fail(method, name, value, "an int >= 0")
    return int(value)


def validation_split(method, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        _fail(method, "validation_split", value, "a float in [0, 1)")
    return float(value)


def validation_freq(method, value):
    if is_int(value):
        if value < 1:
            _fail(method, "validation_freq", value, "a positive int or a collection of positive epoch numbers")
        return int(value)
    if isinstance(value, (list, tuple, set, range)) and all(is_int(v) and v >= 1 for v in value):
        return [int(v) for v in value]
    _fail(method, "validation_freq", value, "a positive int or a collection of positive epoch numbers")


def verbose(method, value):
    if value == "auto" or is_int(value) and 0 <= value <= 2:
        return value
    _fail(method, "verbose", value, '"auto", 0, 1 or 2')


def callbacks(method, value):
    """None, a Callback, a list/tuple of Callbacks or a CallbackList, as a list or the CallbackList itself."""
    if value is None or isinstance(value, CallbackList):
        return value
    items = [value] if isinstance(value, Callback) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, Callback) for item in items):
        _fail(method, "callbacks", value, "a list of lamina.callbacks.Callback instances", TypeError)
    return list(items)


def class_weight(method, value):
    if value is None:
        return None
    if not isinstance(value, dict) or not all(is_int(k) and k >= 0 and isinstance(v, numbers.Real)
                                              and not isinstance(v, bool) for k, v in value.items()):
        _fail(method, "class_weight", value, "a dict mapping class indices (ints >= 0) to weights (numbers)",
              TypeError)
    return value
