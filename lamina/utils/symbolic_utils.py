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
    found, pending = [], [tensor]
    while pending:  # depth first, inputs in call order (Keras's order); no recursion, for deep graphs
        current = pending.pop()
        history = current._keras_history
        if history is None:
            continue
        node = history[0]._inbound_nodes[history[1]]
        if not node.is_input:
            pending.extend(reversed(node.input_tensors))
        elif not any(current is seen for seen in found):
            found.append(current)
    return found
