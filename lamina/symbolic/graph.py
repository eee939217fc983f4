"""The node graph between a functional model's inputs and outputs.

Layer order follows Keras 3's ``map_graph``: a layer's depth is its longest distance to an
output (a shared layer takes the deepest of its nodes), layers are listed deepest first, and
ties keep the order in which a depth-first walk from the outputs first meets them.
"""

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
