"""``rearrange``: einops-style axis rearrangement on torch tensors (``keras.ops.rearrange``)."""

import math
import re

from lamina.ops.keras_op import keras_op
from lamina.ops.tensors import to_tensor


def _groups(side):
    """``"b (h w) c"`` -> [["b"], ["h", "w"], ["c"]]."""
    groups = []
    for token in re.findall(r"\([^)]*\)|\S+", side):
        groups.append(token[1:-1].split() if token.startswith("(") else [token])
    return groups


@keras_op("Rearrange", "einops")
def rearrange(tensor, pattern, **axes_lengths):
    """Reshapes and transposes ``tensor`` by an einops ``pattern`` such as ``"b h w c -> b (h w) c"``;
    ``axes_lengths`` give the sizes of axes split from a group (``"b (h w) -> b h w", h=4``)."""
    tensor = to_tensor(tensor)
    left, right = (side.strip() for side in pattern.split("->"))
    inputs, outputs = _groups(left), _groups(right)
    if len(inputs) != tensor.ndim:
        raise ValueError(f"rearrange: the pattern {pattern!r} names {len(inputs)} input axes, but the tensor has "
                         f"{tensor.ndim} (shape {tuple(tensor.shape)}).")
    sizes = dict(axes_lengths)
    for group, length in zip(inputs, tensor.shape):
        unknown = [axis for axis in group if axis not in sizes]
        known = math.prod(sizes[axis] for axis in group if axis in sizes)
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the sizes of {unknown} in {pattern!r}; pass them as keywords.")
        if unknown:
            sizes[unknown[0]] = length // known
    elementary = [axis for group in inputs for axis in group]
    expanded = tensor.reshape([sizes[axis] for axis in elementary])
    order = [elementary.index(axis) for group in outputs for axis in group]
    permuted = expanded.permute(order)
    return permuted.reshape([math.prod(sizes[axis] for axis in group) for group in outputs])
