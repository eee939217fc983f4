"""Names: automatic object names as Keras gives them (``dense``, ``dense_1``…) and name scopes."""

import contextlib
import re
import threading

from lamina import config

_name_counts = {}


def to_snake_case(name):
    """``"Conv2DTranspose"`` -> ``"conv2d_transpose"`` (Keras's rule for default names)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix):
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2``… (as Keras names layers)."""
    count = _name_counts.get(prefix, 0)
    _name_counts[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


def clear_session():
    """Resets the automatic names (``dense``, ``dense_1``…) and the global dtype policy, like
    ``keras.backend.clear_session``."""
    _name_counts.clear()
    config.reset_dtype_policy()


class _Scopes(threading.local):
    """The name scopes open in this thread: ``(name, caller)`` pairs, outermost first."""

    def __init__(self):
        self.stack = []


_scopes = _Scopes()


@contextlib.contextmanager
def name_scope(name, caller=None):
    """Prefixes the paths of weights created inside the block with ``name`` (as ``keras.name_scope``).

    A layer's weights get ``<scopes>/<layer name>/<weight name>`` paths: the layer opens its own scope
    while it builds, and a model opens its scope while it builds its layers. ``caller`` (the layer
    opening the scope) keeps a layer from nesting its own scope twice.
    """
    stack = _scopes.stack
    if caller is not None and stack and stack[-1][1] is caller:
        yield
        return
    stack.append((name, caller))
    try:
        yield
    finally:
        stack.pop()


def current_path():
    """The open name scopes joined with "/" ("" when none is open)."""
    return "/".join(name for name, _ in _scopes.stack)
