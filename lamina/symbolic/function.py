"""``keras.Function``: a callable graph from symbolic inputs to outputs, without weights of its own."""

import torch

from lamina import tree
from lamina.symbolic.graph import GraphReplay, conform_inputs
from lamina.symbolic.keras_tensor import KerasTensor
from lamina.symbolic.operation import Operation


class Function(Operation):
    """The operations and layers between symbolic ``inputs`` and ``outputs`` (each a tensor, a list or a
    dict of them), called as one operation: ``Function(inputs, outputs)(values)`` gives the outputs'
    values in the outputs' structure, and a symbolic call their specs. Layers in the graph keep their
    weights; ``Model(inputs, outputs)`` is the trainable kind.
    """

    def __init__(self, inputs, outputs, name=None):
        super().__init__(name=name)
        self._inputs_struct = tree.map_structure(lambda tensor: tensor, inputs)
        self._outputs_struct = tree.map_structure(lambda tensor: tensor, outputs)
        self._graph = GraphReplay(tree.flatten(inputs), tree.flatten(outputs))

    @property
    def inputs(self):
        return list(self._graph.inputs)

    @property
    def outputs(self):
        return list(self._graph.outputs)

    @property
    def operations(self):
        """The graph's operations and layers (InputLayers included), in Keras's order."""
        return list(self._graph.operations)

    def _flat_inputs(self, inputs):
        if isinstance(self._inputs_struct, dict) and isinstance(inputs, dict):
            missing = sorted(set(self._inputs_struct) - set(inputs))
            if missing:
                raise ValueError(f"Function '{self.name}': the inputs have no entry for {missing}. Received keys "
                                 f"{sorted(inputs)}; expected {sorted(self._inputs_struct)}.")
            inputs = {key: inputs[key] for key in self._inputs_struct}
        flat = tree.flatten(inputs)
        if len(flat) != len(self._graph.inputs):
            raise ValueError(f"Function '{self.name}' expects {len(self._graph.inputs)} input(s) structured as "
                             f"{tree.map_structure(lambda t: t.shape, self._inputs_struct)}. Received "
                             f"{len(flat)} value(s).")
        return flat

    def _run(self, inputs, run_node):
        return tree.pack_sequence_as(self._outputs_struct, self._graph.run(inputs, run_node))

    def call(self, inputs):
        flat = [value if isinstance(value, (KerasTensor, torch.Tensor)) else torch.as_tensor(value)
                for value in self._flat_inputs(inputs)]
        flat = conform_inputs(f"Function '{self.name}'", flat, self._graph.inputs)
        return self._run(flat, lambda node, args, kwargs: node.layer(*args, **kwargs))

    def compute_output_spec(self, inputs):
        return self._run(self._flat_inputs(inputs),
                         lambda node, args, kwargs: node.layer.compute_output_spec(*args, **kwargs))

    def compute_output_shape(self, input_shape):
        """The outputs' shapes, in the outputs' structure, for the input shape(s) (a tuple, or a list or dict
        of them as the inputs are structured)."""
        if _is_shape(input_shape):
            shapes = [input_shape]
        elif isinstance(input_shape, dict):
            shapes = [input_shape[key] for key in sorted(self._inputs_struct)]  # tree.flatten's order
        else:
            shapes = list(input_shape)
        flat = [KerasTensor(tuple(shape), dtype=spec.dtype) for shape, spec in zip(shapes, self._graph.inputs)]
        return tree.map_structure(lambda spec: spec.shape, self.compute_output_spec(flat))


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(size is None or isinstance(size, int) for size in value)
