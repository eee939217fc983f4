"""Model-level helpers: ``clone_model``, ``model_from_config``, ``model_from_json``."""

import json

from lamina import tree
from lamina.engine.input_layer import InputLayer
from lamina.layers.serialization import deserialize
from lamina.models.model import Functional
from lamina.models.sequential import Sequential


def _clone_layer(layer):
    return type(layer).from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialized weights (as Keras); a compiled
    model's clone is compiled from its compile config, as Keras 3's (a model compiled with a PyTorch
    optimizer, which has no config, gives an uncompiled clone).

    Args:
        model: a Sequential or functional model.
        input_tensors: optional symbolic tensors to build the clone on.
        clone_function: ``layer -> new layer`` (default: rebuild from ``get_config``).
    """
    clone = _clone_architecture(model, input_tensors, clone_function or _clone_layer)
    if model.compiled:
        clone.compile_from_config(model.get_compile_config())
    return clone


def _clone_architecture(model, input_tensors, clone_function):
    if isinstance(model, Sequential):
        clone = Sequential(name=model.name, trainable=model.trainable)
        if input_tensors is not None:
            clone.add(tree.flatten(input_tensors)[0])
        elif model._input_layer is not None:
            clone.add(InputLayer(batch_shape=model._input_layer.batch_shape, dtype=model._input_layer.dtype,
                                 name=model._input_layer.name))
        for layer in model.layers:
            clone.add(clone_function(layer))
        return clone
    if not isinstance(model, Functional):
        raise ValueError(f"clone_model supports Sequential and functional models; '{model.name}' is a "
                         f"subclassed model ({type(model).__name__}). Instantiate it again instead.")
    new_inputs = tree.flatten(input_tensors) if input_tensors is not None else [
        InputLayer(batch_shape=source.batch_shape, dtype=source.dtype, name=source.name).output
        for source in (tensor._keras_history[0] for tensor in model.inputs)]
    new_layers = {}

    def call_clone(node, args, kwargs):
        if id(node.layer) not in new_layers:
            new_layers[id(node.layer)] = clone_function(node.layer)
        return new_layers[id(node.layer)](*args, **kwargs)

    new_outputs = model._run_graph(new_inputs, call_clone, symbolic=True)
    new_input_struct = tree.pack_sequence_as(model._inputs_struct, new_inputs)
    return Functional(new_input_struct, new_outputs, name=model.name)


def model_from_config(config, custom_objects=None):
    """A model (or layer) from a Keras-form config dict."""
    return deserialize(config, custom_objects=custom_objects)


def model_from_json(json_string, custom_objects=None):
    """A model from ``model.to_json()`` output."""
    return model_from_config(json.loads(json_string), custom_objects=custom_objects)
