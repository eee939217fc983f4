"""Nodes: one record per call of a layer on symbolic tensors (or its first eager call).

A node keeps the call's arguments (with KerasTensors in place of data), its
outputs, and links to the nodes that produced its inputs; functional models are
graphs of nodes. :class:`NodeAccessors` gives layers Keras 2's per-node
``input``/``output``/shape accessors.
"""

from lamina.engine import tree
from lamina.engine.keras_tensor import KerasTensor


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
        return not self.input_tensors and self.layer.__class__.__name__ == "InputLayer"

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


def _shapes(structure):
    return tree.map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else None, structure)


class NodeAccessors:
    """Keras 2's node-indexed accessors, for layers called one or more times.

    Ill-defined accesses (never called; several nodes with different values) raise
    ``RuntimeError``: an ``AttributeError`` raised inside a property of a
    ``torch.nn.Module`` would be replaced by Module.__getattr__'s generic message.
    """

    def _node(self, node_index, attribute):
        if not self._inbound_nodes:
            raise RuntimeError(f"Layer '{self.name}' has never been called and thus has no defined "
                                 f"{attribute}.")
        if not isinstance(node_index, int) or not -len(self._inbound_nodes) <= node_index < len(self._inbound_nodes):
            raise ValueError(f"Layer '{self.name}': asked for the {attribute} of node {node_index!r}, but the "
                             f"layer has only {len(self._inbound_nodes)} inbound node(s).")
        return self._inbound_nodes[node_index]

    def _single_node(self, attribute, accessor):
        if len(self._inbound_nodes) > 1:
            raise RuntimeError(f"Layer '{self.name}' has multiple inbound nodes, hence the notion of "
                                 f"'layer {attribute}' is ill-defined. Use `get_{accessor}_at(node_index)` "
                                 "instead.")
        return self._node(0, attribute)

    def get_input_at(self, node_index):
        return self._node(node_index, "input").input_structure

    def get_output_at(self, node_index):
        return self._node(node_index, "output").outputs

    def get_input_shape_at(self, node_index):
        return _shapes(self.get_input_at(node_index))

    def get_output_shape_at(self, node_index):
        return _shapes(self.get_output_at(node_index))

    @property
    def input(self):
        return self._single_node("input", "input").input_structure

    @property
    def output(self):
        return self._single_node("output", "output").outputs

    def _shared_shape(self, attribute, of_node):
        """A shape that every node agrees on (Keras 2 allows several nodes with one shape)."""
        if not self._inbound_nodes:
            raise RuntimeError(f"The layer '{self.name}' has never been called and thus has no defined "
                                 f"{attribute}.")
        shapes = [of_node(i) for i in range(len(self._inbound_nodes))]
        if any(shape != shapes[0] for shape in shapes[1:]):
            raise RuntimeError(f"The layer '{self.name}' has multiple inbound nodes with different "
                                 f"{attribute}s, hence the notion of '{attribute}' is ill-defined for the "
                                 f"layer. Use `get_{attribute}_at(node_index)` instead.")
        return shapes[0]

    @property
    def input_shape(self):
        return self._shared_shape("input_shape", self.get_input_shape_at)

    @property
    def output_shape(self):
        return self._shared_shape("output_shape", self.get_output_shape_at)
