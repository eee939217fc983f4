"""Nodes: one record per call of a layer on symbolic tensors (or its first eager call).

A node keeps the call's arguments (with KerasTensors in place of data), its
outputs, and links to the nodes that produced its inputs; functional models are
graphs of nodes.
"""

from lamina import tree
from lamina.symbolic.keras_tensor import KerasTensor


class Node:
    def __init__(self, layer, call_args=(), call_kwargs=None, outputs=None):
        self.layer = layer
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs or {})
        self.outputs = outputs
        self.input_tensors = [t for t in tree.flatten((self.call_args, self.call_kwargs))
                              if isinstance(t, KerasTensor)]
        self.output_tensors = [t for t in tree.flatten(outputs) if isinstance(t, KerasTensor)]
        node_index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for tensor_index, tensor in enumerate(self.output_tensors):
            tensor._keras_history = (layer, node_index, tensor_index)
        for tensor in self.input_tensors:
            if tensor._keras_history is not None:
                tensor._keras_history[0]._outbound_nodes.append(self)

    @classmethod
    def record_only(cls, layer, call_args, outputs):
        """A node that describes a call without re-pointing the outputs' history at ``layer``
        (a functional model's own node 0: its inputs and outputs belong to inner layers)."""
        node = cls.__new__(cls)
        node.layer, node.call_args, node.call_kwargs, node.outputs = layer, tuple(call_args), {}, outputs
        node.input_tensors = [t for t in tree.flatten(node.call_args) if isinstance(t, KerasTensor)]
        node.output_tensors = [t for t in tree.flatten(outputs) if isinstance(t, KerasTensor)]
        return node

    @property
    def is_input(self):
        return not self.input_tensors and getattr(self.layer, "is_input_layer", False)

    @property
    def parent_nodes(self):
        parents = []
        for tensor in self.input_tensors:
            if tensor._keras_history is not None:
                layer, node_index, _ = tensor._keras_history
                node = layer._inbound_nodes[node_index]
                if node not in parents:
                    parents.append(node)
        return parents

    @property
    def input_structure(self):
        """The first positional argument: the layer's ``input`` as Keras 2 defined it."""
        return self.call_args[0] if self.call_args else next(iter(self.call_kwargs.values()), None)

    def __repr__(self):
        return f"<Node of {self.layer.name}>"
