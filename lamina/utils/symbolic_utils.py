"""Questions about symbolic tensors: ``is_keras_tensor`` and ``get_source_inputs``."""

from lamina.symbolic.keras_tensor import KerasTensor, is_keras_tensor  # noqa: F401


def get_source_inputs(tensor):
    """The ``Input`` tensors ``tensor`` (a KerasTensor) was computed from, in first-met order.

    >>> inputs = lamina.Input((3,))
    >>> get_source_inputs(lamina.layers.Dense(2)(inputs)) == [inputs]
    True
    """
    if not isinstance(tensor, KerasTensor):
        raise ValueError(f"get_source_inputs expects a symbolic tensor (KerasTensor). Received: {tensor!r}")
    found, seen, pending = [], set(), [tensor]
    while pending:
        current = pending.pop(0)
        history = current._keras_history
        if history is None:
            continue
        node = history[0]._inbound_nodes[history[1]]
        if node.is_input:
            if id(current) not in seen:
                seen.add(id(current))
                found.append(current)
            continue
        pending.extend(node.input_tensors)
    return found
