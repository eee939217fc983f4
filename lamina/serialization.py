"""Objects to Keras-form config dicts and back.

A serialized object is ``{"module", "class_name", "config", "registered_name"}``
exactly as Keras 3 writes it, so a lamina config reads like a Keras one and
Keras configs load into lamina.
"""

import contextlib
import difflib
import inspect
import threading

import numpy as np

from lamina import registry
from lamina.config import is_unsafe_deserialization_enabled


def serialize_keras_object(obj):
    """Turns a lamina object (or plain value) into its JSON-ready Keras form."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(item) for item in obj]
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, type):
        raise TypeError(f"Cannot serialize the class {obj.__name__}; pass an instance.")
    if callable(obj) and not hasattr(obj, "get_config"):
        return _serialize_function(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize {obj!r}: it has no get_config() method.")
    cls = type(obj)
    cls = cls.__dict__.get("_serialized_class", cls)  # a functional variant of a Model subclass writes as it
    registered = registry.get_registered_name(cls)
    module = cls.__dict__.get("_registered_module")  # set on built-ins only, not inherited by subclasses
    result = {
        "module": module or cls.__module__,
        "class_name": cls.__name__,
        "config": serialize_keras_object(obj.get_config()),
        "registered_name": None if module else registered,
    }
    build_config = getattr(obj, "get_build_config", None)
    if build_config is not None:
        built = build_config()
        if built:
            result["build_config"] = serialize_keras_object(built)
    compile_config = getattr(obj, "get_compile_config", None)
    if compile_config is not None:
        compiled = compile_config()
        if compiled:
            result["compile_config"] = serialize_keras_object(compiled)
    return result


def _serialize_function(fn):
    registered = registry.get_registered_name(fn)
    module = getattr(fn, "_registered_module", None)
    if module:
        return registered
    return {"module": getattr(fn, "__module__", None), "class_name": "function",
            "config": registered, "registered_name": registered}


_safe_mode = threading.local()


@contextlib.contextmanager
def safe_mode_scope(value):
    """Makes ``value`` the safe mode of every deserialization inside the block (nested ones too)."""
    previous = getattr(_safe_mode, "value", None)
    _safe_mode.value = value
    try:
        yield
    finally:
        _safe_mode.value = previous


def in_safe_mode():
    """The active safe mode: True unless a caller asked for ``safe_mode=False`` or
    ``lamina.config.enable_unsafe_deserialization()`` was called."""
    return getattr(_safe_mode, "value", None) is not False and not is_unsafe_deserialization_enabled()


class IdentifierError(ValueError):
    """An identifier that is not an object of its kind (initializer, activation...): ``identifier``, ``kind``
    and ``hint`` (what to pass instead). Layers catch it while they are constructed and name themselves and
    the argument (Layer.__init__)."""

    def __init__(self, identifier, kind, hint):
        self.identifier, self.kind, self.hint = identifier, kind, hint
        super().__init__(f"Could not interpret {kind} identifier: {hint}. Received: {identifier!r}")


class UnknownIdentifierError(IdentifierError):
    """An unknown name, with the closest known one (``suggestion``) when there is one."""

    def __init__(self, identifier, kind, known):
        close = difflib.get_close_matches(identifier, [name for name in known if isinstance(name, str)], n=1)
        self.suggestion = close[0] if close else None
        hint = f"did you mean {self.suggestion!r}?" if self.suggestion else \
            f"not a known {kind}. Use a lamina/Keras name, register custom objects with " \
            "lamina.saving.register_serializable, or pass custom_objects."
        super().__init__(identifier, kind, hint)
        self.args = (f"Unknown {kind}: {identifier!r}; {hint}",)


def deserialize_keras_object(config, module_objects=None, custom_objects=None, safe_mode=None,
                             printable_module_name="object"):
    """Rebuilds an object from its Keras-form config.

    Args:
        config: a serialized dict, a registered name, or None.
        module_objects: the {name: class} table of the category being read
            (layers, initializers, ...), searched after user registrations.
        custom_objects: extra {name: class or function} for this call.
        safe_mode: True refuses serialized Python code (Lambda functions); None inherits the
            enclosing deserialization's value (True at the top level), so a model's
            ``safe_mode=False`` reaches the layers nested in it.
    """
    if config is None:
        return None
    if isinstance(config, str):
        found = registry.get_registered_object(config, custom_objects, module_objects)
        if found is None:
            raise UnknownIdentifierError(config, printable_module_name,
                                         list(module_objects or {}) + list(custom_objects or {}))
        return found
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret {printable_module_name} config: expected a dict with a "
                         f"'class_name' key or a name. Received: {config!r}")
    class_name = config["class_name"]
    inner = config.get("config", {})
    if class_name == "function":
        # Keras writes plain functions as {"config": name, "registered_name": "function"}.
        registered = config.get("registered_name")
        name = inner if registered in (None, "function") else registered
        return deserialize_keras_object(name, module_objects, custom_objects, safe_mode, printable_module_name)
    cls = None
    for name in (config.get("registered_name"), class_name):
        if name:
            cls = registry.get_registered_object(name, custom_objects, None)
            if cls is not None:
                break
    if cls is None and config.get("module"):
        cls = registry.get_builtin(config["module"], class_name)
    if cls is None and module_objects:
        cls = module_objects.get(class_name)
    if cls is None:
        raise ValueError(f"Unknown {printable_module_name}: {class_name!r} (module {config.get('module')!r}). "
                         "Register it with lamina.saving.register_serializable or pass it in custom_objects.")
    if not hasattr(cls, "from_config"):
        raise TypeError(f"{class_name} cannot be built from a config: it has no from_config().")
    if safe_mode is None:
        safe_mode = in_safe_mode()
    else:
        safe_mode = bool(safe_mode) and not is_unsafe_deserialization_enabled()
    with registry.CustomObjectScope(custom_objects or {}), safe_mode_scope(safe_mode):
        if _accepts_safe_mode(cls):
            obj = cls.from_config(inner, safe_mode=safe_mode)
        else:
            obj = cls.from_config(inner)
        build_config = config.get("build_config")
        if build_config and hasattr(obj, "build_from_config"):
            obj.build_from_config(build_config)
        compile_config = config.get("compile_config")
        if compile_config and hasattr(obj, "compile_from_config"):
            obj.compile_from_config(compile_config)
    return obj


def _accepts_safe_mode(cls):
    return "safe_mode" in inspect.signature(cls.from_config).parameters


def resolve_identifier(identifier, deserialize, kind, none_value=None, instantiate_classes=True):
    """What a module's ``get(identifier)`` returns: ``none_value`` for None, ``deserialize`` for
    names and config dicts, an instance for a class, any callable as it is."""
    if identifier is None:
        return none_value
    resolved = deserialize(identifier) if isinstance(identifier, (str, dict)) else identifier
    if instantiate_classes and inspect.isclass(resolved):
        resolved = resolved()
    if not callable(resolved):
        articles = "a class or a callable" if instantiate_classes else "or a callable"
        raise IdentifierError(identifier, kind, f"expected None, a name, a config dict, {articles}")
    return resolved
