"""Lambda: wraps a function as a layer, with Keras 3's config format."""

import builtins
import codecs
import inspect
import marshal
import math
import sys
import types

import numpy as np
import torch

from lamina import ops, tree
from lamina.engine.layer import Layer, is_shape, specs_from_shapes
from lamina.layers.core.bytecode import load_code
from lamina.symbolic.shape_inference import infer_output_spec
from lamina import registry
from lamina.serialization import deserialize_keras_object, serialize_keras_object

# What a deserialized Python lambda (safe_mode=False only) sees as its globals, besides those of the module
# that defined it when that module is imported: the builtins and the modules lambdas commonly use.
_LAMBDA_GLOBALS = {"__builtins__": builtins, "torch": torch, "np": np, "numpy": np, "math": math, "ops": ops}


def _expected_arguments(function):
    try:
        return inspect.signature(function).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        return {}


def _serialize_function(function):
    """A Python lambda as bytecode (Keras's ``__lambda__`` form); a named function by its name."""
    if isinstance(function, types.LambdaType) and function.__name__ == "<lambda>":
        closure = tuple(cell.cell_contents for cell in function.__closure__) if function.__closure__ else None
        code = codecs.encode(marshal.dumps(function.__code__), "base64").decode("ascii")
        return {"class_name": "__lambda__", "config": {"code": code, "defaults": function.__defaults__,
                                                       "closure": closure, "module": function.__module__}}
    return serialize_keras_object(function)


def _deserialize_function(config, safe_mode, label="Lambda"):
    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        if safe_mode:
            raise ValueError(f"Requested the deserialization of a `Lambda` layer ({label}) whose function is a "
                             "Python lambda stored as bytecode. Loading it would run code from the file, so it is "
                             "refused by default. If you trust the source of this file, pass `safe_mode=False` to "
                             "the loading function.")
        inner = config["config"]
        code = load_code(inner.get("code"), label)
        defaults = tuple(inner["defaults"]) if inner.get("defaults") is not None else None
        closure = tuple(types.CellType(value) for value in inner["closure"]) if inner.get("closure") else None
        namespace = dict(_LAMBDA_GLOBALS)
        module = sys.modules.get(inner.get("module") or "")
        if module is not None and inner.get("module") != "__main__":  # Keras's rule: the defining module's names
            namespace.update(vars(module))
        return types.FunctionType(code, namespace, code.co_name, defaults, closure)
    if isinstance(config, dict) and config.get("class_name") == "function" and \
            config.get("registered_name") in (None, "function"):
        config = config["config"]  # Keras writes plain functions with registered_name "function"
    return deserialize_keras_object(config, module_objects=registry.builtins_of("keras.activations"),
                                    printable_module_name="Lambda function")


@registry.register_builtin("keras.layers")
class Lambda(Layer):
    """Wraps ``function(inputs, **arguments)`` as a layer.

    Args:
        function: a callable; it also receives ``mask=``/``training=`` if its signature names them.
        output_shape: the output shape without the batch axis, or a function of the input shape (batch
            included). Default: inferred by running ``function`` on fake tensors (no computation).
        mask: None (masks stop here), a mask to output, or ``mask(inputs, previous_mask)``.
        arguments: extra keyword arguments for ``function``.

    Named (registered or built-in) functions serialize by name. A Python ``lambda`` serializes as
    bytecode, which loading refuses unless ``safe_mode=False`` is passed.

    >>> Lambda(lambda x: x ** 2)(torch.tensor([3.0]))
    tensor([9.])
    """

    casts_integer_inputs = False  # moves data: keeps the input dtype, as Keras

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"Lambda: `function` must be callable. Received: function={function!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = tuple(output_shape) if isinstance(output_shape, list) and is_shape(output_shape) \
            else output_shape
        parameters = _expected_arguments(function)
        self._fn_expects_mask_arg = "mask" in parameters
        self._fn_expects_training_arg = "training" in parameters

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, previous_mask):
        return self.mask(inputs, previous_mask) if callable(self.mask) else self.mask

    def compute_output_spec(self, *args, **kwargs):
        if self._output_shape is not None:
            return super().compute_output_spec(*args, **kwargs)
        try:
            return infer_output_spec(self._inference_call, args, kwargs)
        except Exception as error:
            raise NotImplementedError(f"Layer '{self.name}': could not infer the output shape of the Lambda's "
                                      f"function ({error}). Pass the `output_shape` argument.") from error

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            specs = self.compute_output_spec(specs_from_shapes(input_shape, self.compute_dtype))
            return tree.map_structure(lambda spec: spec.shape, specs)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = input_shape[0] if is_shape(input_shape) else tree.flatten(input_shape)[0]
        if is_shape(self._output_shape):
            return (batch,) + tuple(self._output_shape)
        return [(batch,) + tuple(shape) for shape in self._output_shape]

    def get_config(self):
        config = {"function": _serialize_function(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = _serialize_function(self._output_shape) if callable(self._output_shape) \
                else self._output_shape
        if self.mask is not None:
            config["mask"] = _serialize_function(self.mask) if callable(self.mask) \
                else serialize_keras_object(self.mask)
        config["arguments"] = serialize_keras_object(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuilds the layer; serialized lambdas are refused unless ``safe_mode=False``."""
        config = dict(config)
        safe_mode = safe_mode is not False
        with registry.CustomObjectScope(custom_objects or {}):
            label = f"Lambda layer '{config.get('name')}'"
            config["function"] = _deserialize_function(config["function"], safe_mode, label)
            for key in ("output_shape", "mask"):
                if isinstance(config.get(key), (dict, str)):
                    config[key] = _deserialize_function(config[key], safe_mode, label)
        return cls(**config)
