"""Model classes and model-level helpers: ``clone_model``, ``model_from_json``."""

import json

from lamina.engine.functional import Functional
from lamina.engine.input_layer import InputLayer
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.model import Model
from lamina.engine.sequential import Sequential
from lamina.engine import tree
from lamina.saving.model_file import load_model, save_model

__all__ = ["Model", "Sequential", "Functional", "clone_model", "load_model", "save_model", "model_from_config",
           "model_from_json"]


def _clone_layer(layer):
    return type(layer).from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialized weights (as Keras).

    Args:
        model: a Sequential or functional model.
        input_tensors: optional symbolic tensors to build the clone on.
        clone_function: ``layer -> new layer`` (default: rebuild from ``get_config``).
    """
    clone_function = clone_function or _clone_layer
    if isinstance(model, Sequential):
        clone = Sequential(name=model.name)
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
    new_layers = {}
    values = {}
    new_inputs = tree.flatten(input_tensors) if input_tensors is not None else None
    for index, tensor in enumerate(model.inputs):
        source = tensor._keras_history[0]
        values[id(tensor)] = new_inputs[index] if new_inputs else InputLayer(
            batch_shape=source.batch_shape, dtype=source.dtype, name=source.name).output
    for node in model._run_nodes:
        layer = node.layer
        if id(layer) not in new_layers:
            new_layers[id(layer)] = clone_function(layer)

        def lookup(item):
            return values[id(item)] if isinstance(item, KerasTensor) else item

        outputs = new_layers[id(layer)](*tree.map_structure(lookup, node.call_args),
                                        **tree.map_structure(lookup, node.call_kwargs))
        for tensor, value in zip(node.output_tensors, tree.flatten(outputs)):
            values[id(tensor)] = value
    new_outputs = tree.pack_sequence_as(model._outputs_struct, [values[id(t)] for t in model.outputs])
    new_input_struct = tree.pack_sequence_as(model._inputs_struct, [values[id(t)] for t in model.inputs])
    return Functional(new_input_struct, new_outputs, name=model.name)


def model_from_config(config, custom_objects=None):
    """A model (or layer) from a Keras-form config dict."""
    from lamina import layers

    return layers.deserialize(config, custom_objects=custom_objects)


def model_from_json(json_string, custom_objects=None):
    """A model from ``model.to_json()`` output."""
    return model_from_config(json.loads(json_string), custom_objects=custom_objects)
