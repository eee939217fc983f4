"""Operations: the functions of ``lamina.ops`` as nodes of a symbolic graph, as Keras 3's ``keras.Operation``.

Called on data, an operation runs ``call``. Called on symbolic tensors, it computes its output specs
(``compute_output_spec``: by default ``call`` runs on fake tensors, no kernels) and records a ``Node``,
as a layer does, so ``Model(inputs, outputs)`` can hold ``ops`` steps. A functional config writes an
operation as Keras 3.15 does::

    {"module": "keras.src.ops.numpy", "class_name": "Add", "config": {"name": "add"},
     "registered_name": "Add", "name": "add", "inbound_nodes": [...]}
"""

import inspect

import numpy as np
import torch

from lamina import naming, registry, rematerialization, serialization
from lamina.dtypes import DTYPE_NAMES, TORCH_DTYPES
from lamina.symbolic.keras_tensor import has_symbolic
from lamina.symbolic.node import Node
from lamina.symbolic.shape_inference import infer_output_spec

# Constructor arguments of these types (and nested lists of them) make an automatic config, as in Keras.
_AUTO_CONFIG_TYPES = (str, int, float, bool, type(None))


class Operation:
    """Base class of operations (``lamina.ops`` functions recorded in a graph; subclass it for your own).

    Subclasses implement ``call(*args, **kwargs)`` and, where fake tensors cannot infer it,
    ``compute_output_spec(*args, **kwargs)`` (KerasTensors for the outputs).
    """

    is_input_layer = False
    built = True
    trainable = False
    # The module Keras writes the class under in configs (built-in ops); None: the class's own module.
    keras_module = None

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        instance._auto_config = _auto_config(cls, args, kwargs)
        return instance

    def __init__(self, name=None):
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"{type(self).__name__}: `name` must be a string without '/'. Received: name={name!r}")
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._inbound_nodes = []
        self._outbound_nodes = []
        self._remat_mode = rematerialization.get_current_remat_mode()  # the RematScope's at creation (Keras)

    def __call__(self, *args, **kwargs):
        if has_symbolic(args) or (kwargs and has_symbolic(kwargs.values())):
            return self.symbolic_call(*args, **kwargs)
        if self._remat_mode is not None:
            return self.rematerialized_call(self.call, *args, **kwargs)(*args, **kwargs)
        return self.call(*args, **kwargs)

    def rematerialized_call(self, fn, *args, **kwargs):
        """``fn`` (the operation's call) rematerialized as the operation's RematScope says: every call
        ("full"), or the calls whose outputs hold more than the threshold's values ("larger_than")."""
        mode = self._remat_mode
        if mode is None:
            return fn
        if mode.mode == "full":
            return rematerialization.remat(fn)
        if mode.mode == "larger_than":
            if rematerialization.larger_than_threshold(mode, self.compute_output_spec(*args, **kwargs)):
                return rematerialization.remat(fn)
        return fn

    def symbolic_call(self, *args, **kwargs):
        """Output specs for symbolic inputs, recorded as a node of the graph."""
        outputs = self.compute_output_spec(*args, **kwargs)
        Node(self, args, kwargs, outputs)
        return outputs

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Operation {type(self).__name__} does not implement call().")

    def compute_output_spec(self, *args, **kwargs):
        try:
            return infer_output_spec(self.call, args, kwargs)
        except Exception as error:
            raise type(error)(f"Could not infer the output shape and dtype of operation '{self.name}' "
                              f"({type(self).__name__}): {error}. Implement "
                              f"{type(self).__name__}.compute_output_spec().") from error

    def count_params(self):
        return 0

    @property
    def input(self):
        return _node_tensors(self, "input_tensors", "input")

    @property
    def output(self):
        return _node_tensors(self, "output_tensors", "output")

    def get_config(self):
        config = {"name": self.name}
        if type(self).get_config is not Operation.get_config:
            return config
        if self._auto_config is None:
            raise NotImplementedError(f"Operation {type(self).__name__} was created with arguments that cannot be "
                                      "serialized automatically; implement get_config().")
        return {**config, **self._auto_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<Operation name={self.name}>"


def _auto_config(cls, args, kwargs):
    """The constructor arguments (defaults included, without ``name``) when all are plain values, else None."""
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop(next(iter(arguments)))
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(arguments.pop(name, {}))
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL and arguments.pop(name, ()):
            return None
    arguments.pop("name", None)

    def plain(value):
        if isinstance(value, (list, tuple)):
            return all(plain(item) for item in value)
        return isinstance(value, _AUTO_CONFIG_TYPES)

    return arguments if all(plain(value) for value in arguments.values()) else None


def _node_tensors(operation, attribute, what):
    if not operation._inbound_nodes:
        raise AttributeError(f"Operation {operation.name} has never been called and thus has no defined {what}.")
    tensors = getattr(operation._inbound_nodes[0], attribute)
    return tensors[0] if len(tensors) == 1 else tensors


def serialize_operation(operation):
    """An operation's entry in a functional config, as Keras writes it (its registered name included)."""
    cls = type(operation)
    return {"module": cls.__dict__.get("keras_module") or cls.__module__, "class_name": cls.__name__,
            "config": serialization.serialize_keras_object(operation.get_config()),
            "registered_name": registry.get_registered_name(cls)}


def serialize_node_value(value):
    """A non-symbolic argument of a node as Keras writes it: tensors and arrays as ``__tensor__`` /
    ``__numpy__`` entries (value and dtype), anything else as a Keras-form object."""
    if isinstance(value, torch.Tensor):
        return {"class_name": "__tensor__",
                "config": {"value": value.detach().cpu().tolist(), "dtype": DTYPE_NAMES[value.dtype]}}
    if isinstance(value, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    return serialization.serialize_keras_object(value)


def deserialize_node_value(item):
    """The tensor or array an ``__tensor__`` / ``__numpy__`` entry stands for (None for anything else)."""
    if isinstance(item, dict) and item.get("class_name") in ("__tensor__", "__numpy__"):
        config = item["config"]
        if item["class_name"] == "__tensor__":
            return torch.tensor(config["value"], dtype=TORCH_DTYPES[config["dtype"]])
        return np.asarray(config["value"], dtype=config["dtype"])
    return None
