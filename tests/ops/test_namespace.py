"""Every public name of Keras 3.15's ``keras.ops`` (and its public sub-namespaces), ``keras.random`` and
``keras.backend`` exists in lamina, and every op class takes the constructor arguments Keras's does (so
configs written by either library rebuild the same op in the other)."""

import inspect

import pytest

import lamina
from lamina.ops.keras_op import FunctionOperation

# Names Keras has that lamina leaves out, each with its reason. Empty: nothing is left out.
EXCLUDED = {}

NAMESPACES = [("ops", "ops"), ("ops.numpy", "ops.numpy"), ("ops.nn", "ops.nn"), ("ops.linalg", "ops.linalg"),
              ("ops.image", "ops.image"), ("random", "random"), ("backend", "backend")]


def _resolve(module, dotted):
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


@pytest.mark.parametrize("keras_path,lamina_path", NAMESPACES, ids=[n for n, _ in NAMESPACES])
def test_every_keras_name_exists(keras, keras_path, lamina_path):
    keras_names = {n for n in dir(_resolve(keras, keras_path)) if not n.startswith("_")}
    ours = _resolve(lamina, lamina_path)
    missing = sorted(n for n in keras_names if not hasattr(ours, n) and f"{keras_path}.{n}" not in EXCLUDED)
    assert not missing, f"lamina.{lamina_path} lacks Keras names: {missing}"


def _op_classes():
    found = {}
    stack = [FunctionOperation]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            found[(sub.keras_module, sub.__name__)] = sub
            stack.append(sub)
    return sorted(found.items())


@pytest.mark.parametrize("key,cls", _op_classes(), ids=lambda v: v[1] if isinstance(v, tuple) else "")
def test_op_class_takes_keras_constructor_arguments(keras, key, cls):
    import importlib

    module, name = key
    keras_cls = getattr(importlib.import_module(module), name)
    ours = inspect.signature(cls.__init__).parameters
    theirs = inspect.signature(keras_cls.__init__).parameters
    describe = lambda params: [(p.name, p.kind, p.default) for p in params.values()  # noqa: E731
                               if p.kind is not inspect.Parameter.VAR_KEYWORD]
    assert describe(ours) == describe(theirs), f"{name}: {describe(ours)} != Keras {describe(theirs)}"


def test_every_op_function_has_its_keras_signature(keras):
    differing = []
    for name in dir(keras.ops):
        keras_fn = getattr(keras.ops, name)
        if name.startswith("_") or not callable(keras_fn) or inspect.isclass(keras_fn):
            continue
        ours = getattr(lamina.ops, name)
        try:
            theirs_sig, ours_sig = inspect.signature(keras_fn), inspect.signature(ours)
        except (TypeError, ValueError):
            continue
        if [(p.name, p.default) for p in theirs_sig.parameters.values()] != \
                [(p.name, p.default) for p in ours_sig.parameters.values()]:
            differing.append(f"{name}{ours_sig} != Keras {name}{theirs_sig}")
    assert not differing, "\n".join(differing)
