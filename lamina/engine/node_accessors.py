"""Keras 2's node-indexed accessors of a layer: ``input``, ``output``, their shapes, ``get_*_at(i)``."""

from lamina import tree
from lamina.symbolic.keras_tensor import KerasTensor


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
