"""The node graph between a functional model's inputs and outputs."""

from lamina.engine.keras_tensor import KerasTensor


def node_of(tensor):
    layer, node_index, _ = tensor._keras_history
    return layer._inbound_nodes[node_index]


def map_graph(inputs, outputs):
    """Nodes (inputs first, in an order where producers precede consumers) and the layers they call.

    Raises ValueError when an output needs a tensor that is neither produced in the
    graph nor one of ``inputs`` (a disconnected graph).
    """
    for tensor in inputs + outputs:
        if not isinstance(tensor, KerasTensor) or tensor._keras_history is None:
            raise ValueError(f"Model inputs and outputs must be symbolic tensors produced by lamina layers "
                             f"(e.g. from lamina.Input). Received: {tensor!r}")
    input_ids = {id(t) for t in inputs}
    finished, order, visiting = set(), [], set()

    def visit(node):
        if id(node) in finished:
            return
        if id(node) in visiting:
            raise ValueError(f"The graph has a cycle through layer '{node.layer.name}'.")
        visiting.add(id(node))
        for tensor in node.input_tensors:
            if id(tensor) in input_ids:
                visit(node_of(tensor))
                continue
            if tensor._keras_history is None:
                raise ValueError(f"Graph disconnected: cannot obtain value for tensor {tensor} at layer "
                                 f"'{node.layer.name}'. It is not produced by any layer and is not one of "
                                 "the model's inputs.")
            visit(node_of(tensor))
        if node.is_input and not any(id(t) in input_ids for t in node.output_tensors):
            raise ValueError(f"Graph disconnected: cannot obtain value for tensor {node.output_tensors[0]} at "
                             f"layer '{node.layer.name}'. Add it to the model's `inputs`. The following "
                             f"layers were accessed without issue: {[n.layer.name for n in order]}")
        visiting.discard(id(node))
        finished.add(id(node))
        order.append(node)

    for tensor in inputs:
        visit(node_of(tensor))
    for tensor in outputs:
        visit(node_of(tensor))
    depth = {id(node): 0 for node in order}
    for node in reversed(order):
        for parent in node.parent_nodes:
            depth[id(parent)] = max(depth.get(id(parent), 0), depth[id(node)] + 1)
    position = {id(node): i for i, node in enumerate(order)}
    order.sort(key=lambda node: (-depth[id(node)], position[id(node)]))
    layers = []
    for node in order:
        if node.layer not in layers:
            layers.append(node.layer)
    return order, layers
