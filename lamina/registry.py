"""Names for classes and functions, so configs can be turned back into objects.

Built-in classes register under a Keras-style module (``"keras.layers"``); user
classes register with :func:`register_serializable` under
``"package>Name"``. Deserialization only ever looks names up here (plus the
``custom_objects`` a caller passes): it never imports a module named in a file.
"""

import threading

# (module, name) -> object for built-ins; module is e.g. "keras.layers".
_BUILTINS = {}
# "package>Name" -> object for user registrations.
_CUSTOM = {}
# object -> registered name, for both tables.
_NAMES = {}
_scope = threading.local()


def _module_aliases(module):
    """A built-in registered as keras.X is also found as lamina.X, and back."""
    if module.startswith("keras."):
        return (module, "lamina." + module[len("keras."):])
    if module.startswith("lamina."):
        return (module, "keras." + module[len("lamina."):])
    return (module,)


def register_builtin(module, name=None):
    """Class/function decorator registering a lamina built-in under ``module``."""

    def decorator(obj):
        registered = name or obj.__name__
        for alias in _module_aliases(module):
            _BUILTINS[(alias, registered)] = obj
        _NAMES.setdefault(obj, registered)
        obj._registered_module = module
        return obj

    return decorator


def register_serializable(package="Custom", name=None):
    """Registers a user class or function as ``"package>name"`` for deserialization.

    >>> @register_serializable(package="my_project")
    ... class MyLayer(lamina.layers.Layer): ...
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_serializable: package must be a string without '>'. Received: {package!r}")

    def decorator(obj):
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise TypeError(f"register_serializable: {obj.__name__} has no get_config() method, "
                            "so it cannot be serialized.")
        registered = f"{package}>{name or obj.__name__}"
        _CUSTOM[registered] = obj
        _NAMES[obj] = registered
        return obj

    return decorator


register_keras_serializable = register_serializable


def get_registered_name(obj):
    """The name ``obj`` (a class or function) is registered under, else its ``__name__``."""
    return _NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Looks ``name`` up in the active scopes, ``custom_objects``, user registrations, then ``module_objects``."""
    for scope in reversed(getattr(_scope, "stack", [])):
        if name in scope:
            return scope[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in _CUSTOM:
        return _CUSTOM[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def get_builtin(module, name):
    """The built-in registered as ``name`` under ``module`` (keras.* or lamina.*), or None."""
    return _BUILTINS.get((module, name))


def builtins_of(module):
    """All built-ins registered under ``module``, as a {name: object} dict."""
    return {n: obj for (m, n), obj in _BUILTINS.items() if m == module}


class CustomObjectScope:
    """Makes ``custom_objects`` visible to deserialization inside a ``with`` block.

    >>> with CustomObjectScope({"MyLayer": MyLayer}):
    ...     model = lamina.models.load_model("m.lamina")
    """

    def __init__(self, *custom_objects):
        self.custom_objects = {}
        for objects in custom_objects:
            self.custom_objects.update(objects or {})

    def __enter__(self):
        if not hasattr(_scope, "stack"):
            _scope.stack = []
        _scope.stack.append(self.custom_objects)
        return self

    def __exit__(self, *exc_info):
        _scope.stack.pop()


custom_object_scope = CustomObjectScope


def get_custom_objects():
    """The live dict of user registrations (``"package>Name"`` -> object)."""
    return _CUSTOM
