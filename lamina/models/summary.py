"""``model.summary()``: layers, output shapes, parameters and FLOPs per sample.

FLOPs are counted by PyTorch's own ``FlopCounterMode`` on one sample per layer
call (zeros of the recorded input shape); a layer whose shape has unknown
dimensions other than the batch shows "?".
"""

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from lamina import tree
from lamina.dtypes import STRING, TORCH_DTYPES
from lamina.engine.input_layer import InputLayer
from lamina.symbolic.keras_tensor import KerasTensor


def _sample(spec):
    if not isinstance(spec, KerasTensor):
        return spec
    if any(d is None for d in spec.shape[1:]):
        raise LookupError
    if spec.dtype == STRING:  # text is a NumPy string array
        return np.full((1,) + tuple(spec.shape[1:]), "", dtype=str)
    return torch.zeros((1,) + tuple(spec.shape[1:]), dtype=TORCH_DTYPES[spec.dtype])


def node_flops(node):
    """FLOPs of one call of ``node.layer`` on one sample, or None when shapes are unknown."""
    try:
        args = tree.map_structure(_sample, node.call_args)
        kwargs = tree.map_structure(_sample, node.call_kwargs)
    except LookupError:
        return None
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            node.layer(*args, **kwargs)
    except Exception:  # a layer that cannot run on zeros (e.g. index checks) shows "?"
        return None
    return counter.get_total_flops()


def _format_count(value):
    if value is None:
        return "?"
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            return f"{value / size:.2f}{unit}"
    return str(int(value))


def _layer_nodes(model):
    """(layer, node) rows in display order for functional, Sequential and subclassed models."""
    nodes = getattr(model, "_nodes", None)
    if nodes is not None:
        return [(node.layer, node) for node in nodes]
    graph_nodes = getattr(model, "_graph_nodes", None)
    if graph_nodes is not None:
        return [(node.layer, node) for node in graph_nodes]
    return [(layer, layer._inbound_nodes[-1] if layer._inbound_nodes else None) for layer in model.layers]


def format_summary(model, line_length=None, show_trainable=False):
    rows = []
    total_flops = 0
    for layer, node in _layer_nodes(model):
        shape = "?" if node is None else str(tree.map_structure(lambda t: t.shape, node.outputs)
                                             if not isinstance(node.outputs, KerasTensor) else node.outputs.shape)
        params = layer.count_params() if layer.built else 0
        flops = None if node is None or isinstance(layer, InputLayer) else node_flops(node)
        if isinstance(layer, InputLayer):
            flops = 0
        total_flops = None if flops is None or total_flops is None else total_flops + flops
        row = [f"{layer.name} ({type(layer).__name__})", shape, f"{params:,}", _format_count(flops)]
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
        rows.append(row)
    headers = ["Layer (type)", "Output Shape", "Param #", "FLOPs/sample"] + (["Trainable"] if show_trainable else [])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    if line_length:
        widths[0] = max(widths[0], line_length - sum(widths[1:]) - 3 * (len(widths) - 1))
    rule = "-" * (sum(widths) + 3 * (len(widths) - 1))

    def line(cells):
        return " | ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights) if model.built else 0
    total = model.count_params() if model.built else 0
    lines = [f'Model: "{model.name}"', rule, line(headers), rule.replace("-", "=")]
    lines += [line(row) for row in rows]
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              f"FLOPs per sample (forward): {_format_count(total_flops)}"]
    return "\n".join(lines)
