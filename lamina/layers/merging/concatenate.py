"""Concatenate: joins a list of tensors along one axis.

Inputs: tensors of equal rank whose shapes agree except on ``axis``; output: the same rank,
``axis`` the sum of the inputs' sizes. Masks: unmasked inputs count as unmasked everywhere;
the output mask is the concatenated mask, reduced with OR over the last axis.
"""

import torch

from lamina.engine.layer import Layer
from lamina.ops.arguments import check_int
from lamina.registry import register_builtin


@register_builtin("keras.layers")
class Concatenate(Layer):
    """Concatenation along ``axis`` (default -1; the batch axis 0 is not allowed).

    >>> Concatenate(axis=1)([torch.zeros(2, 2, 5), torch.zeros(2, 1, 5)]).shape
    torch.Size([2, 3, 5])
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = check_int(axis, "axis", "Concatenate")

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"A `Concatenate` layer should be called on a list of inputs. "
                             f"Received: input_shape={input_shape}")
        error = ValueError(f"A `Concatenate` layer ('{self.name}') requires inputs with matching shapes except "
                           f"for the concatenation axis {self.axis}. Received: input_shape={list(input_shape)}")
        ranks = {len(s) for s in input_shape}
        if len(ranks) != 1:
            raise error
        rank = ranks.pop()
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"Concatenate '{self.name}': axis={self.axis} is out of range or the batch axis for "
                             f"inputs of rank {rank}.")
        axis = self.axis % rank
        output = []
        for index in range(rank):
            sizes = [s[index] for s in input_shape]
            if index == axis:
                output.append(None if None in sizes else sum(sizes))
                continue
            known = {d for d in sizes if d is not None}
            if len(known) > 1:
                raise error
            output.append(known.pop() if known else None)
        return tuple(output)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def call(self, inputs):
        return torch.cat(list(inputs), dim=self.axis)

    def compute_mask(self, inputs, previous_mask):
        if previous_mask is None or all(m is None for m in previous_mask):
            return None
        masks = []
        for x, m in zip(inputs, previous_mask):
            if m is None:
                masks.append(torch.ones_like(x, dtype=torch.bool))
                continue
            m = torch.as_tensor(m, device=x.device)
            masks.append(m.unsqueeze(-1).expand_as(x) if m.dim() < x.dim() else m)
        return torch.cat(masks, dim=self.axis).any(dim=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)
