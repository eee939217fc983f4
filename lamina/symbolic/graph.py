"""The node graph between a functional model's (or a ``Function``'s) inputs and outputs, and its replay.

Layer order follows Keras 3's ``map_graph``: a layer's depth is its longest distance to an
output (a shared layer takes the deepest of its nodes), layers are listed deepest first, and
ties keep the order in which a depth-first walk from the outputs first meets them.
"""

import torch

from lamina import tree
from lamina.symbolic.keras_tensor import KerasTensor


def node_of(tensor):
    layer, node_index, _ = tensor._keras_history
    return layer._inbound_nodes[node_index]


def map_graph(inputs, outputs):
    """Nodes in execution order (producers first) and the layers they call, in Keras's order.

    Raises ValueError for non-symbolic inputs/outputs, cycles, and disconnected graphs (an
    output that needs a tensor which is neither produced in the graph nor one of ``inputs``).
    """
    for tensor in inputs + outputs:
        if not isinstance(tensor, KerasTensor) or tensor._keras_history is None:
            raise ValueError(f"Model inputs and outputs must be symbolic tensors produced by lamina layers "
                             f"(e.g. from lamina.Input). Received: {tensor!r}")
    input_ids = {id(t) for t in inputs}
    finished, in_progress, post_order, first_seen = set(), set(), [], {}

    def walk(tensor, consumer):
        if tensor._keras_history is None:
            raise ValueError(f"Graph disconnected: cannot obtain value for tensor {tensor} at layer "
                             f"'{consumer.layer.name}'. It is not produced by any layer and is not one of "
                             "the model's inputs.")
        node = node_of(tensor)
        if id(node) in finished:
            return
        if id(node) in in_progress:
            raise ValueError(f"The graph has a cycle through layer '{node.layer.name}'.")
        first_seen.setdefault(node.layer, len(first_seen))
        in_progress.add(id(node))
        if not node.is_input and id(tensor) not in input_ids:
            for parent_tensor in node.input_tensors:
                walk(parent_tensor, node)
        in_progress.discard(id(node))
        finished.add(id(node))
        post_order.append(node)

    for tensor in outputs:
        walk(tensor, None)
    for node in post_order:
        if node.is_input and not any(id(t) in input_ids for t in node.output_tensors):
            raise ValueError(f"Graph disconnected: cannot obtain value for tensor {node.output_tensors[0]} at "
                             f"layer '{node.layer.name}'. Add it to the model's `inputs`. The following layers "
                             f"were accessed without issue: {[n.layer.name for n in post_order if not n.is_input]}")

    node_depth, layer_depth = {}, {}
    for node in reversed(post_order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(node.layer, 0))
        layer_depth[node.layer] = node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            if id(parent) in finished:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for tensor in inputs:  # inputs that no output needs still belong to the model
        node = node_of(tensor)
        if id(node) not in finished:
            post_order.append(node)
            node_depth[id(node)] = layer_depth[node.layer] = 0
            first_seen[node.layer] = -1

    position = {id(node): index for index, node in enumerate(post_order)}
    nodes = sorted(post_order, key=lambda node: (-node_depth[id(node)], position[id(node)]))
    layers = sorted(layer_depth, key=lambda layer: (-layer_depth[layer], first_seen[layer]))
    return nodes, layers


def conform_inputs(owner, values, inputs):
    """Each eager input value checked against its symbolic ``Input``, as Keras's functional models and
    ``Function`` do: a trailing axis of size 1 is added or removed to match the Input's rank, and every known
    dimension must match (a ValueError names ``owner``, the input and both shapes). Sequential models, as
    Keras's, run their layers on whatever the first layer accepts."""
    conformed = []
    for index, (value, spec) in enumerate(zip(values, inputs)):
        if isinstance(value, torch.Tensor):
            expected, rank = spec.shape, value.dim()
            if rank == len(expected) + 1 and value.shape[-1] == 1 or rank == len(expected) - 1 and expected[-1] == 1:
                adjusted = value.squeeze(-1) if rank > len(expected) else value.unsqueeze(-1)
                mask = getattr(value, "_keras_mask", None)
                if mask is not None:
                    adjusted._keras_mask = mask
                value = adjusted
            if value.dim() != len(expected) or any(size is not None and size != actual
                                                   for size, actual in zip(expected, value.shape)):
                raise ValueError(f"{owner}: input {index} ('{spec.name}') expects shape {expected}. "
                                 f"Received: shape {tuple(value.shape)}")
        conformed.append(value)
    return conformed


class GraphReplay:
    """The nodes from flat ``inputs`` to flat ``outputs`` (symbolic tensors), replayable on values.

    ``nodes`` and ``operations`` are ``map_graph``'s. ``run`` evaluates the nodes in order, each from
    the values its inputs took, and drops every intermediate value once no later node reads it.
    """

    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = list(inputs), list(outputs)
        self.nodes, self.operations = map_graph(self.inputs, self.outputs)
        self.run_nodes = [node for node in self.nodes if not node.is_input]
        # Per node: its one input tensor when it is called on exactly one tensor and nothing else (most
        # layers), which the replay then reads without walking the call's structure.
        self.single_inputs = [node.call_args[0] if len(node.call_args) == 1 and not node.call_kwargs
                              and isinstance(node.call_args[0], KerasTensor) else None for node in self.run_nodes]
        self.released = self._last_uses()

    def _last_uses(self):
        """Per run node: the tensors no later node reads and the graph does not return, which the replay
        drops once the node ran. An intermediate result then lives only as long as a layer needs it (or
        autograd saved it), as in a hand-written ``forward``: inference peak memory stays that of the
        widest step, and a new result's buffer is a recently freed, cache-warm one."""
        last = {}
        for index, node in enumerate(self.run_nodes):
            for item in tree.flatten((node.call_args, node.call_kwargs)):
                if isinstance(item, KerasTensor):
                    last[id(item)] = index, item
        kept = {id(tensor) for tensor in self.outputs}
        released = [[] for _ in self.run_nodes]
        for key, (index, tensor) in last.items():
            if key not in kept:
                released[index].append(tensor)  # the tensor, not its id: a copied graph releases its own
        return released

    def run(self, flat_inputs, run_node):
        """The output values, in ``outputs`` order, from ``flat_inputs`` (in ``inputs`` order);
        ``run_node(node, args, kwargs)`` gives a node's outputs from its inputs' values."""
        values = {id(tensor): value for tensor, value in zip(self.inputs, flat_inputs)}

        def lookup(item):
            return values[id(item)] if isinstance(item, KerasTensor) else item

        for node, single_input, released in zip(self.run_nodes, self.single_inputs, self.released):
            if single_input is not None:
                outputs = run_node(node, (values[id(single_input)],), {})
            else:
                outputs = run_node(node, tree.map_structure(lookup, node.call_args),
                                   tree.map_structure(lookup, node.call_kwargs))
            if type(outputs) is torch.Tensor and len(node.output_tensors) == 1:
                values[id(node.output_tensors[0])] = outputs
            else:
                for tensor, value in zip(node.output_tensors, tree.flatten(outputs)):
                    values[id(tensor)] = value
            for tensor in released:
                del values[id(tensor)]
        return [values[id(tensor)] for tensor in self.outputs]
